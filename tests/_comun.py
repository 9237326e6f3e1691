"""Piezas comunes de las pruebas (no es un archivo de pruebas).

Un puerto TCP libre en 127.0.0.1 y la carga de un script del repositorio
(``tareas.py``, ``herramientas/...``) como módulo, sin instalarlo.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path
from types import ModuleType

RAIZ = Path(__file__).resolve().parent.parent


def puerto_libre() -> int:
    """Un puerto TCP de 127.0.0.1 que nadie escucha ahora (el sistema lo elige)."""
    with socket.socket() as enchufe:
        enchufe.bind(("127.0.0.1", 0))
        return enchufe.getsockname()[1]


def cargar_modulo(ruta: Path, nombre: str) -> ModuleType:
    """Carga el script ``ruta`` como un módulo nuevo llamado ``nombre``.

    Cada nombre da un módulo aparte: lo que una prueba cambie en el suyo
    (``monkeypatch``) no toca el de otro archivo de pruebas.
    """
    especificacion = importlib.util.spec_from_file_location(nombre, ruta)
    assert especificacion is not None and especificacion.loader is not None
    modulo = importlib.util.module_from_spec(especificacion)
    sys.modules[nombre] = modulo  # dataclasses busca aquí el módulo de sus clases
    especificacion.loader.exec_module(modulo)
    return modulo
