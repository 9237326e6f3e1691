"""``PersonaDAO``: leer y escribir personas, siempre con ``with Conexion.obtener_conexion()``.

Todas las consultas llevan parámetros (``%s``), nunca texto pegado: un nombre
como ``O'Brien`` o ``Robert'); DROP TABLE persona;--`` se guarda tal cual y no
se ejecuta nada raro. Si una escritura falla, el bloque ``with`` hace
``rollback`` y la tabla queda como estaba.

Si la tabla ``persona`` todavía no existe (un servidor propio recién creado,
por ejemplo), la primera operación la crea con sus filas de ejemplo
(:func:`~capa_datos_persona.esquema.crear_tabla`, que se puede ejecutar a la vez
desde varios procesos) y se repite. Se reconoce por el código SQLSTATE del
error (``42P01``), no por su texto, que llega en el idioma del servidor.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar, TypeVar

import psycopg
from psycopg import errors

from .conexion import Conexion
from .errores import ErrorDatosPersona
from .esquema import LIMITES, crear_tabla
from .logger_base import log
from .persona import Persona


T = TypeVar("T")


def _con_tabla(operacion: Callable[[], T]) -> T:
    """Ejecuta ``operacion``; si la tabla no existe, la crea y la repite una vez."""
    try:
        return operacion()
    except errors.UndefinedTable:
        crear_tabla()
        return operacion()


def _escribir(operacion: Callable[[], T]) -> T:
    """Como :func:`_con_tabla`, y un texto que el servidor no puede guardar se explica en español."""
    try:
        return _con_tabla(operacion)
    except (errors.UntranslatableCharacter, errors.CharacterNotInRepertoire, UnicodeEncodeError) as exc:
        raise ErrorDatosPersona(
            "El servidor no puede guardar algún carácter del texto en su codificación "
            f"({type(exc).__name__}). No se guardó nada."
        ) from None


class PersonaDAO:
    """Objeto de acceso a datos (DAO) de la tabla ``persona``."""

    _SELECCIONAR: ClassVar[str] = "SELECT id_persona, nombre, apellido, email FROM persona ORDER BY id_persona"
    _INSERTAR: ClassVar[str] = (
        "INSERT INTO persona (nombre, apellido, email) VALUES (%s, %s, %s) RETURNING id_persona"
    )
    _ACTUALIZAR: ClassVar[str] = "UPDATE persona SET nombre = %s, apellido = %s, email = %s WHERE id_persona = %s"
    _ELIMINAR: ClassVar[str] = "DELETE FROM persona WHERE id_persona = %s"

    @classmethod
    def seleccionar(cls) -> list[Persona]:
        """Todas las personas, ordenadas por ``id_persona``."""
        def leer() -> list[tuple]:
            with Conexion.obtener_conexion() as conexion:
                return conexion.execute(cls._SELECCIONAR).fetchall()

        return [Persona(*fila) for fila in _con_tabla(leer)]

    @classmethod
    def insertar(cls, persona: Persona) -> int:
        """Inserta la persona, le asigna su ``id_persona`` nuevo y devuelve las filas insertadas (1)."""
        valores = cls._validar(persona, con_id=False)

        def insertar() -> tuple[int, int]:
            with Conexion.obtener_conexion() as conexion:
                cursor = conexion.execute(cls._INSERTAR, valores)
                return cursor.fetchone()[0], cursor.rowcount

        persona.id_persona, insertadas = _escribir(insertar)
        log.debug(f"Persona insertada: {persona}")
        return insertadas

    @classmethod
    def actualizar(cls, persona: Persona) -> int:
        """Actualiza la persona por su ``id_persona``. Devuelve 0 si ese id no existe."""
        valores = cls._validar(persona, con_id=True)

        def actualizar() -> int:
            with Conexion.obtener_conexion() as conexion:
                return conexion.execute(cls._ACTUALIZAR, (*valores, persona.id_persona)).rowcount

        actualizadas = _escribir(actualizar)
        cls._informar("actualizada", "se actualizó", persona, actualizadas)
        return actualizadas

    @classmethod
    def eliminar(cls, persona: Persona) -> int:
        """Elimina la persona por su ``id_persona``. Devuelve 0 si ese id no existe."""
        cls._validar_id(persona)

        def eliminar() -> int:
            with Conexion.obtener_conexion() as conexion:
                return conexion.execute(cls._ELIMINAR, (persona.id_persona,)).rowcount

        eliminadas = _con_tabla(eliminar)
        cls._informar("eliminada", "se eliminó", persona, eliminadas)
        return eliminadas

    # --- Validación: mejor un mensaje claro antes que un error del servidor -------------

    @staticmethod
    def _informar(accion: str, verbo: str, persona: Persona, filas: int) -> None:
        if filas:
            log.debug(f"Persona {accion}: {persona}")
        else:
            log.warning(f"No existe ninguna persona con id_persona={persona.id_persona}: no {verbo} nada")

    @staticmethod
    def _validar_id(persona: Persona) -> None:
        if not isinstance(persona, Persona):
            raise ErrorDatosPersona(f"Se esperaba una Persona y llegó un {type(persona).__name__}.")
        ident = persona.id_persona
        if isinstance(ident, bool) or not isinstance(ident, int):
            raise ErrorDatosPersona(
                f"Falta el id_persona (un número entero) para saber qué fila cambiar; llegó {ident!r}."
            )

    @classmethod
    def _validar(cls, persona: Persona, *, con_id: bool) -> tuple[str, str, str]:
        if con_id:
            cls._validar_id(persona)
        elif not isinstance(persona, Persona):
            raise ErrorDatosPersona(f"Se esperaba una Persona y llegó un {type(persona).__name__}.")
        valores = []
        for campo, limite in LIMITES.items():
            valor = getattr(persona, campo)
            if not isinstance(valor, str) or not valor.strip():
                raise ErrorDatosPersona(
                    f"El campo '{campo}' es obligatorio y debe ser texto no vacío; llegó {valor!r}. "
                    "No se guardó nada."
                )
            if len(valor) > limite:
                raise ErrorDatosPersona(
                    f"El campo '{campo}' admite como máximo {limite} caracteres y tiene {len(valor)}. "
                    "No se guardó nada."
                )
            if "\x00" in valor:
                raise ErrorDatosPersona(f"El campo '{campo}' contiene el carácter nulo (\\x00), que PostgreSQL no admite.")
            try:
                valor.encode("utf-8")
            except UnicodeEncodeError:
                raise ErrorDatosPersona(
                    f"El campo '{campo}' contiene un carácter que no es texto válido (un «sustituto» "
                    "suelto, de un texto mal decodificado). No se guardó nada."
                ) from None
            valores.append(valor)
        return tuple(valores)  # type: ignore[return-value]

