"""Configuración común de pytest (pruebas de código y cuadernos con nbval).

Las pruebas nunca tocan los datos del alumno: si no se indicó un servidor
propio (``DATABASE_URL`` o variables ``PG*``), el PostgreSQL embebido de las
pruebas vive en una carpeta temporal que se borra al terminar, con el servidor
detenido. Los kernels de nbval heredan ``CAPA_DATOS_DIR`` y usan ese mismo
servidor.
"""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

_CARPETA = "_capa_carpeta_temporal"


def pytest_configure(config: pytest.Config) -> None:
    from capa_datos_persona import servidor

    if servidor.elegir_servidor().embebido and not os.environ.get(servidor.ENTORNO_DIRECTORIO):
        carpeta = tempfile.mkdtemp(prefix="capa_pruebas_")
        os.environ[servidor.ENTORNO_DIRECTORIO] = carpeta
        setattr(config, _CARPETA, carpeta)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Los cuadernos primero, en orden: así empiezan con la base de datos recién creada."""
    items.sort(key=lambda item: 0 if item.path.suffix == ".ipynb" else 1)


def pytest_unconfigure(config: pytest.Config) -> None:
    carpeta = getattr(config, _CARPETA, None)
    if carpeta is None:
        return
    from capa_datos_persona import servidor
    from capa_datos_persona.conexion import Conexion

    Conexion.cerrar_conexiones()
    servidor.detener_embebido()
    shutil.rmtree(carpeta, ignore_errors=True)
    os.environ.pop(servidor.ENTORNO_DIRECTORIO, None)
