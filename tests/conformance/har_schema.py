"""HAR 1.2 as a JSON Schema, written from the specification (http://www.softwareishard.com/blog/har-12-spec/).

Required members and their types as the spec lists them; optional members are typed where present.
No maintained Python package ships this schema, so the tests carry it.
"""

from __future__ import annotations

from typing import Any

_PAIR = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {"name": {"type": "string"}, "value": {"type": "string"}, "comment": {"type": "string"}},
}
_COOKIE = {
    "type": "object",
    "required": ["name", "value"],
    "properties": {
        "name": {"type": "string"},
        "value": {"type": "string"},
        "path": {"type": "string"},
        "domain": {"type": "string"},
        "expires": {"type": ["string", "null"]},
        "httpOnly": {"type": "boolean"},
        "secure": {"type": "boolean"},
        "comment": {"type": "string"},
    },
}
_POST_DATA = {
    "type": "object",
    "required": ["mimeType"],
    "properties": {
        "mimeType": {"type": "string"},
        "text": {"type": "string"},
        "params": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["name"],
                "properties": {
                    "name": {"type": "string"},
                    "value": {"type": "string"},
                    "fileName": {"type": "string"},
                    "contentType": {"type": "string"},
                },
            },
        },
        "comment": {"type": "string"},
    },
}
_REQUEST = {
    "type": "object",
    "required": [
        "method",
        "url",
        "httpVersion",
        "cookies",
        "headers",
        "queryString",
        "headersSize",
        "bodySize",
    ],
    "properties": {
        "method": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "httpVersion": {"type": "string"},
        "cookies": {"type": "array", "items": _COOKIE},
        "headers": {"type": "array", "items": _PAIR},
        "queryString": {"type": "array", "items": _PAIR},
        "postData": _POST_DATA,
        "headersSize": {"type": "integer"},
        "bodySize": {"type": "integer"},
        "comment": {"type": "string"},
    },
}
_CONTENT = {
    "type": "object",
    "required": ["size", "mimeType"],
    "properties": {
        "size": {"type": "integer"},
        "compression": {"type": "integer"},
        "mimeType": {"type": "string"},
        "text": {"type": "string"},
        "encoding": {"type": "string"},
        "comment": {"type": "string"},
    },
}
_RESPONSE = {
    "type": "object",
    "required": [
        "status",
        "statusText",
        "httpVersion",
        "cookies",
        "headers",
        "content",
        "redirectURL",
        "headersSize",
        "bodySize",
    ],
    "properties": {
        "status": {"type": "integer"},
        "statusText": {"type": "string"},
        "httpVersion": {"type": "string"},
        "cookies": {"type": "array", "items": _COOKIE},
        "headers": {"type": "array", "items": _PAIR},
        "content": _CONTENT,
        "redirectURL": {"type": "string"},
        "headersSize": {"type": "integer"},
        "bodySize": {"type": "integer"},
        "comment": {"type": "string"},
    },
}
_TIMINGS = {
    "type": "object",
    "required": ["send", "wait", "receive"],
    "properties": {
        name: {"type": "number", "minimum": -1}
        for name in ("blocked", "dns", "connect", "send", "wait", "receive", "ssl")
    },
}
_ENTRY = {
    "type": "object",
    "required": ["startedDateTime", "time", "request", "response", "cache", "timings"],
    "properties": {
        "pageref": {"type": "string"},
        "startedDateTime": {"type": "string", "format": "date-time"},
        "time": {"type": "number", "minimum": 0},
        "request": _REQUEST,
        "response": _RESPONSE,
        "cache": {"type": "object"},
        "timings": _TIMINGS,
        "serverIPAddress": {"type": "string"},
        "connection": {"type": "string"},
        "comment": {"type": "string"},
    },
}
_CREATOR = {
    "type": "object",
    "required": ["name", "version"],
    "properties": {"name": {"type": "string"}, "version": {"type": "string"}, "comment": {"type": "string"}},
}
HAR_12_SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "required": ["log"],
    "properties": {
        "log": {
            "type": "object",
            "required": ["version", "creator", "entries"],
            "properties": {
                "version": {"type": "string", "const": "1.2"},
                "creator": _CREATOR,
                "browser": _CREATOR,
                "pages": {"type": "array"},
                "entries": {"type": "array", "items": _ENTRY},
                "comment": {"type": "string"},
            },
        }
    },
}


def har_errors(document: Any) -> list[str]:
    """Every way `document` breaks HAR 1.2 (empty when valid), formats (uri, date-time) checked."""
    import jsonschema

    validator = jsonschema.Draft7Validator(
        HAR_12_SCHEMA, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER
    )
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(document)
    ]
