/* Scalars: text, and plain scalars' values under the YAML 1.2 core schema, as
 * yamlread._scalar and yamlread._plain make them (rare forms handed back to yamlread). */
#include "yamlc.h"
#include <string.h>

PyObject *yamlc_text_of(const yaml_char_t *bytes, size_t length)
{
    return PyUnicode_DecodeUTF8((const char *)bytes, (Py_ssize_t)length, "strict");
}

PyObject *yamlc_key_of(State *s, const yaml_char_t *bytes, size_t n)
{
    if (n > KEY_MOST)
        return yamlc_text_of(bytes, n);
    unsigned h = 2166136261u; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ bytes[i]) * 16777619u;
    PyObject **slot = &s->keys[(h ^ (h >> 16)) % KEYS], *key = *slot;
    if (key && (size_t)PyUnicode_GET_LENGTH(key) == n && memcmp(PyUnicode_DATA(key), bytes, n) == 0) {
        Py_INCREF(key);
        return key;
    }
    key = yamlc_text_of(bytes, n);
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
        return yamlc_text_of(bytes, n);
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
        PyObject *text = yamlc_text_of(bytes, n), *mark = yamlc_mark_of(at), *v = NULL;
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
    return special ? special : yamlc_text_of(bytes, n);
}

PyObject *yamlc_scalar_value(State *s, const yaml_event_t *ev, PyObject *text)
{
    const char *tag = (const char *)ev->data.scalar.tag;
    const yaml_char_t *bytes = ev->data.scalar.value;
    size_t n = ev->data.scalar.length;
    if (tag == NULL || strcmp(tag, "!") == 0) {
        if (ev->data.scalar.plain_implicit)
            return plain(s, bytes, n, &ev->start_mark);
    } else if (strcmp(tag, CORE "str") != 0) {
        PyObject *tag_text = PyUnicode_FromString(tag), *mark = yamlc_mark_of(&ev->start_mark), *v = NULL;
        PyObject *own = text ? NULL : yamlc_text_of(bytes, n);
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
    return yamlc_text_of(bytes, n);
}

