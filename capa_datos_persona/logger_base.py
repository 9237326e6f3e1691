"""El registro (logger) del curso: ``from capa_datos_persona.logger_base import log``.

Por qué está hecho así:

* Usa el formato clásico del curso
  ``%(asctime)s: %(levelname)s [%(filename)s:%(lineno)s] %(message)s``.
* Escribe en la salida estándar *actual* (``sys.stdout`` en el momento de cada
  línea). En un cuaderno de Jupyter eso significa que las líneas aparecen como
  salida de la celda que las produjo, y no como texto rojo de ``stderr``.
* No llama a ``logging.basicConfig``: no enciende el registro de otras
  bibliotecas ni cambia la configuración del programa que nos importe.
* Solo hace visibles los avisos (WARNING o más graves) del registro
  ``psycopg.pool``, porque son parte de la lección (por ejemplo
  ``rolling back returned connection``). Sin esto Python los mandaría a
  ``stderr`` con su manejador de último recurso.
* No escribe ningún archivo salvo que lo pidas con la variable de entorno
  ``CAPA_DATOS_LOG_ARCHIVO`` (ruta del archivo de registro).
"""

from __future__ import annotations

import logging
import os
import sys

FORMATO = "%(asctime)s: %(levelname)s [%(filename)s:%(lineno)s] %(message)s"
NOMBRE = "capa_datos_persona"


class ManejadorSalidaActual(logging.StreamHandler):
    """Un ``StreamHandler`` que escribe siempre en el ``sys.stdout`` vigente.

    Jupyter (y pytest) sustituyen ``sys.stdout`` mientras corre cada celda o
    prueba; si guardáramos el flujo al importar, las líneas irían a parar a una
    celda anterior o a ninguna parte.
    """

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def _configurar() -> logging.Logger:
    registro = logging.getLogger(NOMBRE)
    if getattr(registro, "_capa_configurado", False):
        return registro
    registro.setLevel(logging.DEBUG)
    registro.propagate = False
    formato = logging.Formatter(FORMATO)

    consola = ManejadorSalidaActual()
    consola.setFormatter(formato)
    registro.addHandler(consola)

    archivo = os.environ.get("CAPA_DATOS_LOG_ARCHIVO")
    if archivo:
        en_archivo = logging.FileHandler(archivo, encoding="utf-8")
        en_archivo.setFormatter(formato)
        registro.addHandler(en_archivo)

    # Avisos del propio psycopg_pool, visibles en la salida de la celda.
    avisos_pool = ManejadorSalidaActual()
    avisos_pool.setLevel(logging.WARNING)
    avisos_pool.setFormatter(formato)
    logging.getLogger("psycopg.pool").addHandler(avisos_pool)

    registro._capa_configurado = True  # type: ignore[attr-defined]
    return registro


log: logging.Logger = _configurar()
"""El logger del paquete (nivel DEBUG)."""
