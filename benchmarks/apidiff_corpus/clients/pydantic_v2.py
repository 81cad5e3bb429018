"""Request models and settings parsing written for pydantic 2."""

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator


class Item(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True)

    name: str
    price: float = Field(0.0, ge=0)
    tags: list[str] = []

    @field_validator("name")
    @classmethod
    def not_empty(cls, value: str) -> str:
        assert value
        return value


def check_model():
    item = Item.model_validate({"name": " pen ", "price": 2})
    assert item.model_dump() == {"name": "pen", "price": 2.0, "tags": []}
    assert Item.model_validate_json(item.model_dump_json()) == item


def check_type_adapter():
    assert TypeAdapter(list[int]).validate_python(["1", 2]) == [1, 2]


def check_schema():
    assert Item.model_json_schema()["required"] == ["name"]
