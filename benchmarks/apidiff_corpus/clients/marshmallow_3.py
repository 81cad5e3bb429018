"""Request schemas written for marshmallow 3."""

from marshmallow import Schema, fields, post_load


class UserSchema(Schema):
    name = fields.String(required=True)
    email = fields.Email(load_default=None)

    @post_load
    def make(self, data, **kwargs):
        return dict(data, loaded=True)


def check_load():
    assert UserSchema().load({"name": "ada"})["loaded"]


def check_field_default():
    class PageSchema(Schema):
        size = fields.Integer(default=20)

    assert PageSchema().dump({}) == {"size": 20}


def check_field_missing():
    class QuerySchema(Schema):
        q = fields.String(missing="")

    assert QuerySchema().load({}) == {"q": ""}


def check_dump_only():
    class S(Schema):
        id = fields.Integer(dump_only=True)

    assert S().dump({"id": 1}) == {"id": 1}
