"""Fixtures de las pruebas de código: todas hablan con un PostgreSQL real."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from capa_datos_persona import Conexion, reiniciar_tabla
from capa_datos_persona.laboratorio.diagnostico import conexion_directa


@pytest.fixture(autouse=True)
def pool_limpio() -> Iterator[None]:
    """Cada prueba empieza sin pool y con los valores de clase por defecto, y termina igual."""
    originales = {n: getattr(Conexion, n) for n in ("MIN_CON", "MAX_CON", "TIMEOUT", "NOMBRE_POOL", "VERIFICAR")}
    Conexion.cerrar_conexiones()
    yield
    Conexion.cerrar_conexiones()
    for nombre, valor in originales.items():
        setattr(Conexion, nombre, valor)
    Conexion._prestamos.olvidar()


@pytest.fixture
def tabla() -> None:
    """La tabla persona recién creada con sus 3 filas de ejemplo."""
    reiniciar_tabla()


@pytest.fixture
def directa() -> Iterator[psycopg.Connection]:
    """Una conexión propia, fuera del pool, para mirar el servidor sin alterar el experimento."""
    with conexion_directa() as conexion:
        yield conexion


@pytest.fixture
def filas(directa: psycopg.Connection) -> Callable[[], list[tuple]]:
    """Función que lee la tabla persona tal como está en el servidor, desde fuera del pool."""
    return lambda: directa.execute("SELECT id_persona, nombre, apellido, email FROM persona ORDER BY 1").fetchall()
