"""Errores propios del curso, todos con mensajes en español que dicen qué hacer.

Cada clase hereda además de la excepción estándar que un programador esperaría
(``ValueError``, ``TypeError``, ``ConnectionError``), para que un ``except``
genérico siga funcionando.
"""

from __future__ import annotations


class ErrorCapaDatos(Exception):
    """Base de todos los errores de ``capa_datos_persona``."""


class ErrorConexionBD(ErrorCapaDatos, ConnectionError):
    """No se pudo hablar con el servidor PostgreSQL (apagado, puerto o clave mal)."""


class ErrorServidorEmbebido(ErrorCapaDatos, RuntimeError):
    """El servidor PostgreSQL embebido no pudo arrancar o detenerse."""


class ErrorDevolucion(ErrorCapaDatos, ValueError):
    """Se intentó devolver al pool algo que no se puede devolver.

    Por ejemplo: una conexión ya devuelta, una que no salió de este pool o una
    que pertenece a un bloque ``with`` (esa se devuelve sola).
    """


class ErrorTipoDevolucion(ErrorCapaDatos, TypeError):
    """Se pasó a ``liberar_conexion`` un objeto que ni siquiera es una conexión."""


class ErrorDatosPersona(ErrorCapaDatos, ValueError):
    """Una ``Persona`` no es válida para la operación pedida; la tabla no cambió."""
