"""App settings and request models written against pydantic 1.x."""

from pydantic import BaseModel, Field, validator


class Item(BaseModel):
    name: str
    price: float = Field(0.0, ge=0)

    @validator("name")
    def strip_name(cls, value):
        return value.strip()


def check_model_roundtrip():
    item = Item.parse_obj({"name": " pen ", "price": 2})
    assert item.dict() == {"name": "pen", "price": 2.0}
    assert Item(**item.dict()).json()


def check_settings_from_environment():
    from pydantic import BaseSettings

    class Settings(BaseSettings):
        debug: bool = False

    assert Settings().debug is False


def check_field_regex():
    class Code(BaseModel):
        code: str = Field(..., regex=r"^[A-Z]{3}$")

    assert Code(code="ABC").code == "ABC"
