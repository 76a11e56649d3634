/* Marks: where each value is written (yamlc.h). */
#include "yamlc.h"
#include <structmember.h>

PyObject *yamlc_mark_of(const yaml_mark_t *at)
{
    Mark *m = PyObject_New(Mark, &yamlc_MarkType);
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

PyTypeObject yamlc_MarkType = {
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
