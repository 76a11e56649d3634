/* netlab._yamlc: netlab.yamlread._build in C, over the system libyaml.
 *
 * The same data, the same positions, the same bounds and the same problems as the
 * Python builder, which stays the reference (tests/unit/test_yamlc.py compares them).
 * What is common and fast is done here: libyaml's events, plain scalars (null, booleans,
 * decimal numbers of up to 18 digits, floats), containers, anchors and aliases, keys.
 * What is rare is handed back to yamlread, so that it is written once: the messages
 * (yamlread._SAY, through its _Stop), other numbers (yamlread._int), tagged scalars
 * (yamlread._tagged), aliased keys (yamlread._key_text) and << merges
 * (yamlread._apply_merges). One loop over the events, the enclosing containers on a
 * stack of frames: no recursion, however deep a file nests.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>
#include <yaml.h>

#define CORE "tag:yaml.org,2002:"

/* A mark: where a value is written, counted from 0 as libyaml counts (.line, .column). */
typedef struct {
    PyObject_HEAD
    Py_ssize_t line, column;
} Mark;

static PyTypeObject MarkType;

static PyObject *mark_of(const yaml_mark_t *at)
{
    Mark *m = PyObject_New(Mark, &MarkType);
    if (m) {
        m->line = (Py_ssize_t)at->line;
        m->column = (Py_ssize_t)at->column;
    }
    return (PyObject *)m;
}

static PyObject *mark_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    Py_ssize_t line, column;
    static char *names[] = {"line", "column", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "nn", names, &line, &column))
        return NULL;
    Mark *m = (Mark *)type->tp_alloc(type, 0);
    if (m) {
        m->line = line;
        m->column = column;
    }
    return (PyObject *)m;
}

static PyObject *mark_repr(Mark *m)
{
    return PyUnicode_FromFormat("Mark(line=%zd, column=%zd)", m->line, m->column);
}

static PyObject *mark_reduce(Mark *m, PyObject *unused)
{
    return Py_BuildValue("O(nn)", Py_TYPE(m), m->line, m->column);
}

static PyMemberDef mark_members[] = {
    {"line", T_PYSSIZET, offsetof(Mark, line), READONLY, "the line, counted from 0"},
    {"column", T_PYSSIZET, offsetof(Mark, column), READONLY, "the column, counted from 0"},
    {NULL},
};

static PyMethodDef mark_methods[] = {
    {"__reduce__", (PyCFunction)mark_reduce, METH_NOARGS, NULL},
    {NULL},
};

static PyTypeObject MarkType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "netlab._yamlc.Mark",
    .tp_basicsize = sizeof(Mark),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Where a value is written: .line and .column, counted from 0 (libyaml's).",
    .tp_new = mark_new,
    .tp_repr = (reprfunc)mark_repr,
    .tp_members = mark_members,
    .tp_methods = mark_methods,
};

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

static void frame_clear(Frame *f)
{
    Py_CLEAR(f->value);
    Py_CLEAR(f->kids);
    Py_CLEAR(f->key);
    Py_CLEAR(f->key_mark);
    Py_CLEAR(f->anchor);
    Py_CLEAR(f->merges);
    Py_CLEAR(f->mark);
}

/* Raise yamlread._Stop(mark, what, *args): yamlread words the message. */
static int stop(State *s, const yaml_mark_t *at, const char *what, const char *format, ...)
{
    PyObject *mark = mark_of(at), *args = NULL, *head = NULL, *all = NULL, *exc = NULL;
    va_list va;
    va_start(va, format);
    args = format ? Py_VaBuildValue(format, va) : PyTuple_New(0);
    va_end(va);
    if (mark && args && (head = Py_BuildValue("(Os)", mark, what)) && (all = PySequence_Concat(head, args))
        && (exc = PyObject_Call(s->stop, all, NULL)))
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_XDECREF(mark);
    Py_XDECREF(args);
    Py_XDECREF(head);
    Py_XDECREF(all);
    Py_XDECREF(exc);
    return -1;
}

static int check_size(State *s, const yaml_mark_t *at)
{
    if (s->expanded > s->max_values)
        return stop(s, at, "values", "(L)", s->max_values);
    long long extra = s->alias_extra > 10 * s->written ? s->alias_extra : 10 * s->written;
    if (s->expanded - s->written > extra)
        return stop(s, at, "bomb", "(LLL)", s->expanded, s->written, s->alias_extra);
    return 0;
}

static PyObject *text_of(const yaml_char_t *bytes, size_t length)
{
    return PyUnicode_DecodeUTF8((const char *)bytes, (Py_ssize_t)length, "strict");
}

static PyObject *key_of(State *s, const yaml_char_t *bytes, size_t n)
{
    if (n > KEY_MOST)
        return text_of(bytes, n);
    unsigned h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ bytes[i]) * 16777619u;
    PyObject **slot = &s->keys[(h ^ (h >> 16)) % KEYS], *key = *slot;
    if (key && (size_t)PyUnicode_GET_LENGTH(key) == n && memcmp(PyUnicode_DATA(key), bytes, n) == 0) {
        Py_INCREF(key);
        return key;
    }
    key = text_of(bytes, n);
    if (key && PyUnicode_IS_ASCII(key)) { /* then its characters are its bytes */
        Py_INCREF(key);
        Py_XSETREF(*slot, key);
    }
    return key;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int in_base(char c, int base)
{
    return base == 8 ? (c >= '0' && c <= '7') : (is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'));
}

/* The base of an integer as yamlread._INT reads one: 10, 8 (0o17), 16 (0x1f), or 0 if none. */
static int int_base(const char *t, size_t n)
{
    if (n > 2 && t[0] == '0' && (t[1] == 'o' || t[1] == 'x')) {
        int base = t[1] == 'o' ? 8 : 16;
        for (size_t i = 2; i < n; i++)
            if (!in_base(t[i], base))
                return 0;
        return base;
    }
    size_t i = (t[0] == '+' || t[0] == '-');
    if (i == n)
        return 0;
    for (; i < n; i++)
        if (!is_digit(t[i]))
            return 0;
    return 10;
}

/* Whether yamlread._FLOAT matches the whole text. */
static int is_float(const char *t, size_t n)
{
    size_t i = (t[0] == '+' || t[0] == '-'), digits = 0;
    if (i < n && t[i] == '.') {
        for (i++; i < n && is_digit(t[i]); i++)
            digits++;
    } else {
        for (; i < n && is_digit(t[i]); i++)
            digits++;
        if (digits && i < n && t[i] == '.')
            for (i++; i < n && is_digit(t[i]); i++)
                ;
    }
    if (!digits)
        return 0;
    if (i < n && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < n && (t[i] == '+' || t[i] == '-'))
            i++;
        if (i == n || !is_digit(t[i]))
            return 0;
        while (i < n && is_digit(t[i]))
            i++;
    }
    return i == n;
}

static int is_one_of(const char *t, size_t n, const char *const *words)
{
    for (; *words; words++)
        if (strlen(*words) == n && memcmp(t, *words, n) == 0)
            return 1;
    return 0;
}

static const char *const NULLS[] = {"~", "null", "Null", "NULL", NULL};
static const char *const TRUES[] = {"true", "True", "TRUE", NULL};
static const char *const FALSES[] = {"false", "False", "FALSE", NULL};
static const char *const INFS[] = {".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", NULL};
static const char *const MINUS_INFS[] = {"-.inf", "-.Inf", "-.INF", NULL};
static const char *const NANS[] = {".nan", ".NaN", ".NAN", NULL};

static PyObject *special_float(const char *t, size_t n)
{
    if (is_one_of(t, n, INFS))
        return PyFloat_FromDouble(Py_HUGE_VAL);
    if (is_one_of(t, n, MINUS_INFS))
        return PyFloat_FromDouble(-Py_HUGE_VAL);
    if (is_one_of(t, n, NANS))
        return PyFloat_FromDouble(Py_NAN);
    return NULL;
}

/* A plain scalar's value under the YAML 1.2 core schema: yamlread._plain. */
static PyObject *plain(State *s, const yaml_char_t *bytes, size_t n, const yaml_mark_t *at)
{
    const char *t = (const char *)bytes;
    if (n == 0 || is_one_of(t, n, NULLS))
        Py_RETURN_NONE;
    if (!(is_digit(t[0]) || t[0] == '+' || t[0] == '-' || t[0] == '.')) {
        if (is_one_of(t, n, TRUES))
            Py_RETURN_TRUE;
        if (is_one_of(t, n, FALSES))
            Py_RETURN_FALSE;
        return text_of(bytes, n);
    }
    int base = int_base(t, n);
    size_t sign = (t[0] == '+' || t[0] == '-');
    if (base == 10 && n - sign <= 18) {
        long long v = 0;
        for (size_t i = sign; i < n; i++)
            v = v * 10 + (t[i] - '0');
        return PyLong_FromLongLong(t[0] == '-' ? -v : v);
    }
    if (base) {
        PyObject *text = text_of(bytes, n), *mark = mark_of(at), *v = NULL;
        if (text && mark)
            v = PyObject_CallFunctionObjArgs(s->to_int, text, mark, NULL);
        Py_XDECREF(text);
        Py_XDECREF(mark);
        return v;
    }
    if (is_float(t, n)) { /* the text ends with a NUL (libyaml's) and holds none before */
        double v = PyOS_string_to_double(t, NULL, NULL); /* out of range: ±inf, as float() */
        return v == -1.0 && PyErr_Occurred() ? NULL : PyFloat_FromDouble(v);
    }
    PyObject *special = special_float(t, n);
    return special ? special : text_of(bytes, n);
}

/* A scalar's value (yamlread._scalar); its text when it has been decoded already. */
static PyObject *scalar_value(State *s, const yaml_event_t *ev, PyObject *text)
{
    const char *tag = (const char *)ev->data.scalar.tag;
    const yaml_char_t *bytes = ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (tag == NULL || strcmp(tag, "!") == 0) {
        if (ev->data.scalar.plain_implicit)
            return plain(s, bytes, n, &ev->start_mark);
    } else if (strcmp(tag, CORE "str") != 0) {
        PyObject *tag_text = PyUnicode_FromString(tag), *mark = mark_of(&ev->start_mark), *v = NULL;
        PyObject *own = text ? NULL : text_of(bytes, n);
        if (tag_text && mark && (text || own))
            v = PyObject_CallFunctionObjArgs(s->tagged, tag_text, text ? text : own, mark, NULL);
        Py_XDECREF(tag_text);
        Py_XDECREF(mark);
        Py_XDECREF(own);
        return v;
    }
    if (text) {
        Py_INCREF(text);
        return text;
    }
    return text_of(bytes, n);
}

static int remember(State *s, const yaml_char_t *anchor, PyObject *value, PyObject *pos, long long size)
{
    PyObject *name = text_of(anchor, strlen((const char *)anchor));
    PyObject *entry = name ? Py_BuildValue("(OOL)", value, pos, size) : NULL;
    int rc = entry ? PyDict_SetItem(s->anchors, name, entry) : -1;
    Py_XDECREF(name);
    Py_XDECREF(entry);
    return rc;
}

/* Place a finished value (a scalar, a container, an alias's value) in the container
 * being built, or as the document. Takes both references. */
static int place(State *s, PyObject *value, PyObject *pos)
{
    Frame *f = &s->cur;
    int rc = 0;
    if (f->is_map) {
        if ((PyDict_CheckExact(value) || PyList_CheckExact(value))
            && PyUnicode_CompareWithASCIIString(f->key, "<<") == 0) {
            PyObject *merge = PyTuple_Pack(3, value, pos, f->key_mark);
            if (!f->merges && !(f->merges = PyList_New(0)))
                rc = -1;
            rc = rc || !merge || PyList_Append(f->merges, merge) ? -1 : 0;
            Py_XDECREF(merge);
        } else {
            Py_ssize_t before = PyDict_GET_SIZE(f->value);
            if (!PyDict_SetDefault(f->value, f->key, value)) {
                rc = -1;
            } else if (PyDict_GET_SIZE(f->value) == before) {
                Mark *first = (Mark *)PyTuple_GET_ITEM(PyDict_GetItem(f->kids, f->key), 0);
                Mark *at = (Mark *)f->key_mark;
                yaml_mark_t here = {0, (size_t)at->line, (size_t)at->column};
                rc = stop(s, &here, "duplicate", "(Onn)", f->key, first->line + 1, first->column + 1);
            } else {
                PyObject *kid = PyTuple_Pack(2, f->key_mark, pos);
                rc = kid ? PyDict_SetItem(f->kids, f->key, kid) : -1;
                Py_XDECREF(kid);
            }
        }
        Py_CLEAR(f->key);
        Py_CLEAR(f->key_mark);
    } else if (f->value) {
        rc = PyList_Append(f->value, value) || PyList_Append(f->kids, pos) ? -1 : 0;
    } else {
        Py_XSETREF(s->result, value);
        Py_XSETREF(s->result_pos, pos);
        return 0;
    }
    Py_DECREF(value);
    Py_DECREF(pos);
    return rc;
}

static int on_scalar(State *s, const yaml_event_t *ev)
{
    Frame *f = &s->cur;
    const yaml_char_t *anchor = ev->data.scalar.anchor;
    s->written++;
    s->expanded++;
    PyObject *at = mark_of(&ev->start_mark);
    if (!at)
        return -1;
    if (f->is_map && !f->key) {
        f->key_mark = at;
        if (!(f->key = key_of(s, ev->data.scalar.value, ev->data.scalar.length)))
            return -1;
        if (anchor) {
            PyObject *value = scalar_value(s, ev, f->key);
            int rc = value ? remember(s, anchor, value, at, 1) : -1;
            Py_XDECREF(value);
            return rc;
        }
        return 0;
    }
    PyObject *value = scalar_value(s, ev, NULL);
    if (!value || (anchor && remember(s, anchor, value, at, 1))) {
        Py_XDECREF(value);
        Py_DECREF(at);
        return -1;
    }
    if (f->value && !f->is_map) { /* the bulk of a list: no detour */
        int rc = PyList_Append(f->value, value) || PyList_Append(f->kids, at) ? -1 : 0;
        Py_DECREF(value);
        Py_DECREF(at);
        return rc;
    }
    return place(s, value, at);
}

static int on_start(State *s, const yaml_event_t *ev)
{
    int opening = ev->type == YAML_MAPPING_START_EVENT;
    const char *tag = (const char *)(opening ? ev->data.mapping_start.tag : ev->data.sequence_start.tag);
    const yaml_char_t *anchor = opening ? ev->data.mapping_start.anchor : ev->data.sequence_start.anchor;
    if (s->depth >= s->max_depth)
        return stop(s, &ev->start_mark, "deep", "(L)", s->max_depth);
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, opening ? CORE "map" : CORE "seq") != 0)
        return stop(s, &ev->start_mark, "tag", "(s)", tag);
    if (s->cur.is_map && !s->cur.key)
        return stop(s, &ev->start_mark, "key", "(s)", opening ? "mapping" : "list");
    s->written++;
    s->expanded++;
    if ((s->expanded - s->written > s->alias_extra || s->expanded > s->max_values)
        && check_size(s, &ev->start_mark))
        return -1;
    Frame next = {0};
    next.is_map = opening;
    next.start = s->expanded - 1;
    next.value = opening ? PyDict_New() : PyList_New(0);
    next.kids = opening ? PyDict_New() : PyList_New(0);
    next.mark = mark_of(&ev->start_mark);
    next.anchor = anchor ? text_of(anchor, strlen((const char *)anchor)) : NULL;
    if (!next.value || !next.kids || !next.mark || (anchor && (!next.anchor || PySet_Add(s->open, next.anchor)))) {
        frame_clear(&next);
        return -1;
    }
    if (s->depth == s->room) {
        Py_ssize_t room = s->room ? 2 * s->room : 16;
        Frame *grown = PyMem_Realloc(s->stack, room * sizeof(Frame));
        if (!grown) {
            frame_clear(&next);
            PyErr_NoMemory();
            return -1;
        }
        s->stack = grown;
        s->room = room;
    }
    s->stack[s->depth++] = s->cur;
    s->cur = next;
    return 0;
}

static int on_end(State *s, const yaml_event_t *ev)
{
    if ((s->expanded - s->written > s->alias_extra || s->expanded > s->max_values)
        && check_size(s, &ev->start_mark))
        return -1;
    Frame done = s->cur;
    s->cur = s->stack[--s->depth];
    PyObject *value = done.value, *pos = PyTuple_Pack(2, done.mark, done.kids);
    done.value = NULL;
    int rc = pos ? 0 : -1;
    if (!rc && done.merges && PyList_GET_SIZE(done.merges)) {
        PyObject *r = PyObject_CallFunctionObjArgs(s->merge, value, done.kids, done.merges, NULL);
        rc = r ? 0 : -1;
        Py_XDECREF(r);
    }
    if (!rc && done.anchor && PyUnicode_GET_LENGTH(done.anchor)) {
        PyObject *entry = Py_BuildValue("(OOL)", value, pos, s->expanded - done.start);
        rc = entry && PySet_Discard(s->open, done.anchor) >= 0 && PyDict_SetItem(s->anchors, done.anchor, entry) == 0
            ? 0 : -1;
        Py_XDECREF(entry);
    }
    frame_clear(&done);
    if (rc) {
        Py_DECREF(value);
        Py_XDECREF(pos);
        return -1;
    }
    return place(s, value, pos);
}

static int on_alias(State *s, const yaml_event_t *ev)
{
    const yaml_char_t *anchor = ev->data.alias.anchor;
    PyObject *name = text_of(anchor, strlen((const char *)anchor));
    if (!name)
        return -1;
    int inside = PySet_Contains(s->open, name);
    PyObject *entry = inside == 0 ? PyDict_GetItemWithError(s->anchors, name) : NULL;
    if (inside || !entry) {
        int rc = inside < 0 || PyErr_Occurred() ? -1
            : stop(s, &ev->start_mark, inside ? "cycle" : "anchor", "(O)", name);
        Py_DECREF(name);
        return rc;
    }
    Py_DECREF(name);
    PyObject *value = PyTuple_GET_ITEM(entry, 0), *pos = PyTuple_GET_ITEM(entry, 1);
    s->written++;
    s->expanded += PyLong_AsLongLong(PyTuple_GET_ITEM(entry, 2));
    if (check_size(s, &ev->start_mark))
        return -1;
    Frame *f = &s->cur;
    if (f->is_map && !f->key) {
        if (PyDict_CheckExact(value) || PyList_CheckExact(value))
            return stop(s, &ev->start_mark, "key", "(s)", "mapping or list");
        if (PyUnicode_CheckExact(value)) {
            Py_INCREF(value);
            f->key = value;
        } else if (!(f->key = PyObject_CallOneArg(s->key_text, value))) {
            return -1;
        }
        return (f->key_mark = mark_of(&ev->start_mark)) ? 0 : -1;
    }
    Py_INCREF(value);
    Py_INCREF(pos);
    return place(s, value, pos);
}

/* libyaml's error as PyYAML raises it (a ReaderError, or a MarkedYAMLError), which
 * yamlread.parse turns into a problem. */
static void parser_error(State *s, const yaml_parser_t *p)
{
    if (p->error == YAML_MEMORY_ERROR) {
        PyErr_NoMemory();
        return;
    }
    PyObject *exc = NULL;
    if (p->error == YAML_READER_ERROR) {
        exc = PyObject_CallFunction(s->reader_error, "(sniss)", "<unicode string>", (Py_ssize_t)p->problem_offset,
                                    p->problem_value, "?", p->problem ? p->problem : "");
    } else {
        PyObject *context_mark = p->context ? mark_of(&p->context_mark) : Py_NewRef(Py_None);
        PyObject *problem_mark = p->problem ? mark_of(&p->problem_mark) : Py_NewRef(Py_None);
        if (context_mark && problem_mark)
            exc = PyObject_CallFunction(s->marked_error, "(zOzO)", p->context, context_mark, p->problem, problem_mark);
        Py_XDECREF(context_mark);
        Py_XDECREF(problem_mark);
    }
    if (exc) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
    }
}

static int on_event(State *s, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        return on_scalar(s, ev);
    case YAML_MAPPING_START_EVENT:
    case YAML_SEQUENCE_START_EVENT:
        return on_start(s, ev);
    case YAML_MAPPING_END_EVENT:
    case YAML_SEQUENCE_END_EVENT:
        return on_end(s, ev);
    case YAML_ALIAS_EVENT:
        return on_alias(s, ev);
    case YAML_DOCUMENT_START_EVENT:
        return ++s->documents > 1 ? stop(s, &ev->start_mark, "document", NULL) : 0;
    default:
        return 0;
    }
}

static void state_clear(State *s)
{
    frame_clear(&s->cur);
    while (s->depth)
        frame_clear(&s->stack[--s->depth]);
    PyMem_Free(s->stack);
    Py_CLEAR(s->anchors);
    Py_CLEAR(s->open);
    Py_CLEAR(s->result);
    Py_CLEAR(s->result_pos);
    for (int i = 0; i < KEYS; i++)
        Py_CLEAR(s->keys[i]);
}

static PyObject *run(State *s, const char *data, Py_ssize_t size)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser))
        return PyErr_NoMemory();
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, (size_t)size);
    yaml_event_t ev;
    int rc = 0, done = 0;
    while (!rc && !done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            parser_error(s, &parser);
            rc = -1;
            break;
        }
        done = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(s, &ev);
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    if (rc)
        return NULL;
    if (!s->result_pos) { /* no document: line 1, column 1 */
        yaml_mark_t start = {0, 0, 0};
        if (!(s->result_pos = mark_of(&start)))
            return NULL;
    }
    return PyTuple_Pack(2, s->result ? s->result : Py_None, s->result_pos);
}

static PyObject *build(PyObject *module, PyObject *args)
{
    PyObject *text, *hooks;
    State s = {0};
    if (!PyArg_ParseTuple(args, "ULLLO!:build", &text, &s.max_depth, &s.max_values, &s.alias_extra,
                          &PyTuple_Type, &hooks)
        || !PyArg_ParseTuple(hooks, "OOOOOOO:hooks", &s.stop, &s.to_int, &s.tagged, &s.key_text, &s.merge,
                             &s.reader_error, &s.marked_error))
        return NULL;
    Py_ssize_t size;
    const char *data = PyUnicode_AsUTF8AndSize(text, &size); /* lone surrogates: UnicodeEncodeError */
    if (!data)
        return NULL;
    PyObject *out = NULL;
    if ((s.anchors = PyDict_New()) && (s.open = PySet_New(NULL)))
        out = run(&s, data, size);
    state_clear(&s);
    return out;
}

static PyMethodDef methods[] = {
    {"build", build, METH_VARARGS,
     "build(text, max_depth, max_values, alias_extra, hooks) -> (data, positions), as yamlread._build."},
    {NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "netlab._yamlc", "yamlread's builder in C, over the system libyaml.", -1, methods,
};

PyMODINIT_FUNC PyInit__yamlc(void)
{
    if (PyType_Ready(&MarkType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Mark", (PyObject *)&MarkType) < 0
        || PyModule_AddStringConstant(m, "LIBYAML", yaml_get_version_string()) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
