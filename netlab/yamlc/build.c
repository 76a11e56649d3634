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
#include "yamlc.h"
#include <string.h>

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
int yamlc_stop(State *s, const yaml_mark_t *at, const char *what, const char *format, ...)
{
    PyObject *mark = yamlc_mark_of(at), *args = NULL, *head = NULL, *all = NULL, *exc = NULL;
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
        return yamlc_stop(s, at, "values", "(L)", s->max_values);
    long long extra = s->alias_extra > 10 * s->written ? s->alias_extra : 10 * s->written;
    if (s->expanded - s->written > extra)
        return yamlc_stop(s, at, "bomb", "(LLL)", s->expanded, s->written, s->alias_extra);
    return 0;
}

static int remember(State *s, const yaml_char_t *anchor, PyObject *value, PyObject *pos, long long size)
{
    PyObject *name = yamlc_text_of(anchor, strlen((const char *)anchor));
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
                rc = yamlc_stop(s, &here, "duplicate", "(Onn)", f->key, first->line + 1, first->column + 1);
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
    PyObject *at = yamlc_mark_of(&ev->start_mark);
    if (!at)
        return -1;
    if (f->is_map && !f->key) {
        f->key_mark = at;
        if (!(f->key = yamlc_key_of(s, ev->data.scalar.value, ev->data.scalar.length)))
            return -1;
        if (anchor) {
            PyObject *value = yamlc_scalar_value(s, ev, f->key);
            int rc = value ? remember(s, anchor, value, at, 1) : -1;
            Py_XDECREF(value);
            return rc;
        }
        return 0;
    }
    PyObject *value = yamlc_scalar_value(s, ev, NULL);
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
        return yamlc_stop(s, &ev->start_mark, "deep", "(L)", s->max_depth);
    if (tag && strcmp(tag, "!") != 0 && strcmp(tag, opening ? CORE "map" : CORE "seq") != 0)
        return yamlc_stop(s, &ev->start_mark, "tag", "(s)", tag);
    if (s->cur.is_map && !s->cur.key)
        return yamlc_stop(s, &ev->start_mark, "key", "(s)", opening ? "mapping" : "list");
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
    next.mark = yamlc_mark_of(&ev->start_mark);
    next.anchor = anchor ? yamlc_text_of(anchor, strlen((const char *)anchor)) : NULL;
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
    PyObject *name = yamlc_text_of(anchor, strlen((const char *)anchor));
    if (!name)
        return -1;
    int inside = PySet_Contains(s->open, name);
    PyObject *entry = inside == 0 ? PyDict_GetItemWithError(s->anchors, name) : NULL;
    if (inside || !entry) {
        int rc = inside < 0 || PyErr_Occurred() ? -1
            : yamlc_stop(s, &ev->start_mark, inside ? "cycle" : "anchor", "(O)", name);
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
            return yamlc_stop(s, &ev->start_mark, "key", "(s)", "mapping or list");
        if (PyUnicode_CheckExact(value)) {
            Py_INCREF(value);
            f->key = value;
        } else if (!(f->key = PyObject_CallOneArg(s->key_text, value))) {
            return -1;
        }
        return (f->key_mark = yamlc_mark_of(&ev->start_mark)) ? 0 : -1;
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
        PyObject *context_mark = p->context ? yamlc_mark_of(&p->context_mark) : Py_NewRef(Py_None);
        PyObject *problem_mark = p->problem ? yamlc_mark_of(&p->problem_mark) : Py_NewRef(Py_None);
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
        return ++s->documents > 1 ? yamlc_stop(s, &ev->start_mark, "document", NULL) : 0;
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
    for (unsigned long events = 1; !rc && !done; events++) {
        if (events % 65536 == 0 && PyErr_CheckSignals() < 0) { /* Ctrl-C within ~10 ms, as in Python */
            rc = -1;
            break;
        }
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
        if (!(s->result_pos = yamlc_mark_of(&start)))
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
    if (PyType_Ready(&yamlc_MarkType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (PyModule_AddObjectRef(m, "Mark", (PyObject *)&yamlc_MarkType) < 0
        || PyModule_AddStringConstant(m, "LIBYAML", yaml_get_version_string()) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
