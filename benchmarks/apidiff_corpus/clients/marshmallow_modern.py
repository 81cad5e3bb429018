"""Request schemas with marshmallow 3."""

from marshmallow import Schema, ValidationError, fields, validate


class UserSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1))
    age = fields.Integer(load_default=None)
    tags = fields.List(fields.String(), dump_default=list)


def check_load_and_errors():
    assert UserSchema().load({"name": "ada"}) == {"name": "ada", "age": None}
    try:
        UserSchema().load({"name": ""})
    except ValidationError as error:
        assert "name" in error.messages


def check_dump():
    assert UserSchema().dump({"name": "ada"}) == {"name": "ada", "tags": []}
