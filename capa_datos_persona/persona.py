"""La entidad ``Persona``: una fila de la tabla ``persona``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Persona:
    """Una persona del curso. ``id_persona`` lo asigna la base de datos al insertar.

    >>> Persona(nombre="Juan", apellido="Pérez", email="jperez@mail.com")
    Persona(id_persona=None, nombre='Juan', apellido='Pérez', email='jperez@mail.com')
    >>> print(Persona(1, "Juan", "Pérez", "jperez@mail.com"))
    Persona 1: Juan Pérez <jperez@mail.com>
    """

    id_persona: int | None = None
    nombre: str | None = None
    apellido: str | None = None
    email: str | None = None

    def __str__(self) -> str:
        ident = "(sin id)" if self.id_persona is None else str(self.id_persona)
        return f"Persona {ident}: {self.nombre} {self.apellido} <{self.email}>"
