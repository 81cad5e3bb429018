"""A small data layer written for SQLAlchemy 1.4 (sqlite in memory, no server)."""

import sqlalchemy as sa
from sqlalchemy.orm import Session, declarative_base

Base = declarative_base()


class User(Base):
    __tablename__ = "users"
    id = sa.Column(sa.Integer, primary_key=True)
    name = sa.Column(sa.String(50))


def check_orm_session():
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(User(name="ada"))
        session.commit()
        assert session.query(User).filter_by(name="ada").one().id == 1


def check_engine_execute():
    engine = sa.create_engine("sqlite://")
    assert engine.execute(sa.text("select 1")).scalar() == 1


def check_bound_metadata():
    engine = sa.create_engine("sqlite://")
    meta = sa.MetaData(bind=engine)
    sa.Table("t", meta, sa.Column("x", sa.Integer))
    meta.create_all()


def check_table_names():
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    assert engine.table_names() == ["users"]
