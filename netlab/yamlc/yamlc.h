/* netlab._yamlc: netlab.yamlread._build in C, over the system libyaml (build.c); its
 * marks (mark.c) and scalars (scalar.c). */
#ifndef NETLAB_YAMLC_H
#define NETLAB_YAMLC_H
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <yaml.h>

#define CORE "tag:yaml.org,2002:"

/* A mark: where a value is written, counted from 0 as libyaml counts (.line, .column). */
typedef struct {
    PyObject_HEAD
    Py_ssize_t line, column;
} Mark;

extern PyTypeObject yamlc_MarkType;
PyObject *yamlc_mark_of(const yaml_mark_t *at);

/* The container being built, or an enclosing one on the stack (yamlread._build's locals). */
typedef struct {
    PyObject *value, *kids; /* the dict or list, and its children's positions; NULL at the top */
    int is_map;
    PyObject *key, *key_mark; /* the pending key and its mark, NULL if none */
    PyObject *anchor;         /* its anchor's name, or NULL */
    long long start;          /* values expanded before it */
    PyObject *merges;         /* [(value, position, key mark)] of its << keys, or NULL */
    PyObject *mark;
} Frame;

/* Keys repeat (node, interface, address...): the last key text seen at each of KEYS
 * slots, chosen by a hash of its bytes, is used again rather than made anew (and its
 * hash, which each dict it goes in needs, is computed once). */
#define KEYS 256
#define KEY_MOST 32 /* bytes: longer keys are made anew */

typedef struct {
    long long max_depth, max_values, alias_extra;
    PyObject *stop, *to_int, *tagged, *key_text, *merge, *reader_error, *marked_error; /* yamlread's */
    Frame cur;
    Frame *stack;
    Py_ssize_t depth, room;
    PyObject *anchors; /* name → (value, position, expanded size) */
    PyObject *open;    /* names of the anchors of the containers still open */
    long long written, expanded; /* values as written, and once every alias is expanded */
    int documents;
    PyObject *result, *result_pos;
    PyObject *keys[KEYS];
} State;

/* Raise yamlread._Stop(mark, what, *args) (yamlread words the message); returns -1. */
int yamlc_stop(State *s, const yaml_mark_t *at, const char *what, const char *format, ...);
/* Text from libyaml's UTF-8; a key's, from the cache of keys where it is there. */
PyObject *yamlc_text_of(const yaml_char_t *bytes, size_t length);
PyObject *yamlc_key_of(State *s, const yaml_char_t *bytes, size_t n);
/* A scalar's value (yamlread._scalar); ``text`` its text if decoded already, else NULL. */
PyObject *yamlc_scalar_value(State *s, const yaml_event_t *ev, PyObject *text);
#endif
