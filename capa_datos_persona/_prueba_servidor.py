"""Probar el servidor antes de crear el pool y explicar en español por qué falla.

Sin esta prueba, un servidor apagado o una contraseña equivocada dejarían al
pool reintentando en silencio hasta el ``TIMEOUT``, y el alumno vería un
``PoolTimeout`` que no dice la causa.
"""

from __future__ import annotations

import psycopg

from .errores import ErrorConexionBD
from .servidor import Destino, enmascarar, ocultar_rutas


def probar_servidor(destino: Destino, ajustes: dict[str, object]) -> None:
    """Abre y cierra una conexión directa; si falla, lanza :class:`ErrorConexionBD` con causa y remedio."""
    try:
        with psycopg.connect(destino.conninfo, autocommit=True, **ajustes):  # type: ignore[arg-type]
            pass
    except psycopg.Error as exc:
        raise ErrorConexionBD(explicar_fallo(destino, exc)) from None


def explicar_fallo(destino: Destino, exc: psycopg.Error) -> str:
    """El mensaje en español de un fallo al conectar: dónde, por qué y qué hacer."""
    host, puerto = destino.host_y_puerto()
    texto = str(exc).lower()
    detalle = ocultar_rutas(enmascarar(" ".join(str(exc).split()) or type(exc).__name__))
    if "password" in texto or "authentication" in texto:
        causa = "el servidor respondió, pero rechazó el usuario o la contraseña"
        remedio = "Revisa el usuario y la contraseña de DATABASE_URL / PGUSER / PGPASSWORD."
    elif "does not exist" in texto:
        causa = "el servidor respondió, pero la base de datos o el usuario no existen"
        remedio = "Crea la base de datos (por ejemplo `createdb test_db`) o corrige su nombre."
    else:
        causa = "no hay un servidor escuchando ahí o no responde"
        remedio = (
            "Arranca tu servidor o corrige host y puerto en DATABASE_URL / PGHOST / PGPORT; "
            "o borra esas variables para usar el PostgreSQL embebido del curso."
        )
    return (
        f"No se pudo conectar con PostgreSQL en {host}:{puerto} ({destino.tipo}): {causa}. "
        f"{remedio} Detalle: {detalle}"
    )
