"""La tabla ``persona``: crearla sin repetir, con filas de ejemplo, y reiniciarla."""

from __future__ import annotations

from .conexion import Conexion
from .logger_base import log

LIMITES: dict[str, int] = {"nombre": 50, "apellido": 50, "email": 100}
"""Longitud máxima de cada columna de texto (la misma en Python y en SQL)."""

CREAR_TABLA = f"""
CREATE TABLE IF NOT EXISTS persona (
    id_persona SERIAL PRIMARY KEY,
    nombre     VARCHAR({LIMITES['nombre']})   NOT NULL,
    apellido   VARCHAR({LIMITES['apellido']}) NOT NULL,
    email      VARCHAR({LIMITES['email']})    NOT NULL
)
"""

FILAS_EJEMPLO: tuple[tuple[str, str, str], ...] = (
    ("Juan", "Pérez", "jperez@mail.com"),
    ("Karla", "Gómez", "kgomez@mail.com"),
    ("María", "Esparza", "mesparza@mail.com"),
)

# Varios cuadernos pueden crear la tabla a la vez: un cerrojo del servidor los pone en fila.
_CERROJO = "SELECT pg_advisory_xact_lock(hashtext('capa_datos_persona.esquema'))"
_INSERTAR = "INSERT INTO persona (nombre, apellido, email) VALUES (%s, %s, %s)"


def crear_tabla() -> bool:
    """Crea la tabla si no existe y, si está vacía, le pone las filas de ejemplo.

    No borra nada: se puede ejecutar tantas veces como se quiera. Devuelve
    ``True`` si insertó las filas de ejemplo.
    """
    with Conexion.obtener_conexion() as conexion:
        conexion.execute(_CERROJO)
        conexion.execute(CREAR_TABLA)
        vacia = conexion.execute("SELECT NOT EXISTS (SELECT 1 FROM persona)").fetchone()[0]
        if vacia:
            conexion.cursor().executemany(_INSERTAR, FILAS_EJEMPLO)
    # Siempre la misma línea, haya creado la tabla o no: la salida de un cuaderno no
    # depende de lo que hiciste antes.
    log.debug("Tabla persona lista")
    return bool(vacia)


def reiniciar_tabla() -> None:
    """Borra la tabla y la vuelve a crear con las filas de ejemplo (ids desde 1)."""
    with Conexion.obtener_conexion() as conexion:
        conexion.execute(_CERROJO)
        conexion.execute("DROP TABLE IF EXISTS persona")
        conexion.execute(CREAR_TABLA)
        conexion.cursor().executemany(_INSERTAR, FILAS_EJEMPLO)
    log.debug(f"Tabla persona reiniciada con {len(FILAS_EJEMPLO)} filas de ejemplo")
