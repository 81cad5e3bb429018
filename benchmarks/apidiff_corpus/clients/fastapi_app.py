"""A FastAPI service tested in-process."""

from fastapi import Depends, FastAPI, HTTPException
from fastapi.testclient import TestClient
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float


def get_db():
    return {"1": Item(name="pen", price=2.0)}


app = FastAPI()


@app.get("/items/{item_id}")
def read_item(item_id: str, db=Depends(get_db)) -> Item:  # noqa: B008 (FastAPI idiom)
    if item_id not in db:
        raise HTTPException(status_code=404, detail="missing")
    return db[item_id]


def check_routes():
    client = TestClient(app)
    assert client.get("/items/1").json() == {"name": "pen", "price": 2.0}
    assert client.get("/items/2").status_code == 404
