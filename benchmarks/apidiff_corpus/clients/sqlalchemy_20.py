"""A data layer written for SQLAlchemy 2.0 (sqlite in memory)."""

from sqlalchemy import ForeignKey, String, create_engine, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50))
    posts: Mapped[list["Post"]] = relationship(back_populates="author")


class Post(Base):
    __tablename__ = "posts"
    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    author: Mapped[User] = relationship(back_populates="posts")


def check_orm():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(User(name="ada", posts=[Post()]))
        session.commit()
        user = session.scalars(select(User).where(User.name == "ada")).one()
        assert len(user.posts) == 1


def check_core():
    engine = create_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.execute(text("select 1")).scalar_one() == 1
