"""capa_datos_persona: la capa de datos del curso, sobre un pool de ``psycopg_pool``.

Uso típico::

    from capa_datos_persona import Conexion, Persona, PersonaDAO

    with Conexion.obtener_conexion() as conexion:
        conexion.execute("SELECT 1")

El servidor PostgreSQL sale de ``DATABASE_URL`` o de las variables ``PG*`` si
existen; si no, se arranca uno embebido (ver :mod:`capa_datos_persona.servidor`).

Dos pisos, y los nombres de archivo lo dicen:

* **La capa de datos** (lo que enseña la lección): ``conexion``, ``persona``,
  ``persona_dao``, ``esquema``, ``errores``, ``logger_base`` y ``servidor``; su
  fontanería va en módulos privados (``_embebido``, ``_prestamos``,
  ``_pool_observable``, ``_prueba_servidor``). No importa pandas ni matplotlib.
* **El laboratorio** (:mod:`capa_datos_persona.laboratorio`): las herramientas
  de los cuadernos para observar y provocar (registrador de ocupación,
  gráficas, experimentos, carga, fallos, detector de fugas). Se apoya en la
  capa de datos; la capa de datos nunca lo importa.
"""

from .conexion import Conexion
from .conexion_asincrona import ConexionAsincrona, ErrorBucleDeEventos
from .errores import (
    ErrorCapaDatos,
    ErrorConexionBD,
    ErrorDatosPersona,
    ErrorDevolucion,
    ErrorServidorEmbebido,
    ErrorTipoDevolucion,
)
from .esquema import crear_tabla, reiniciar_tabla
from .logger_base import log
from .persona import Persona
from .persona_dao import PersonaDAO

__all__ = [
    "Conexion",
    "ConexionAsincrona",
    "ErrorBucleDeEventos",
    "ErrorCapaDatos",
    "ErrorConexionBD",
    "ErrorDatosPersona",
    "ErrorDevolucion",
    "ErrorServidorEmbebido",
    "ErrorTipoDevolucion",
    "Persona",
    "PersonaDAO",
    "crear_tabla",
    "log",
    "reiniciar_tabla",
]
__version__ = "1.1.0"  # la de pyproject.toml (tests/test_publicacion.py)
