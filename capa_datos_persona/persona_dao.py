"""``PersonaDAO``: leer y escribir personas, siempre con ``with Conexion.obtener_conexion()``.

Todas las consultas llevan parámetros (``%s``), nunca texto pegado: un nombre
como ``O'Brien`` o ``Robert'); DROP TABLE persona;--`` se guarda tal cual y no
se ejecuta nada raro. Si una escritura falla, el bloque ``with`` hace
``rollback`` y la tabla queda como estaba.
"""

from __future__ import annotations

from typing import ClassVar

from .conexion import Conexion
from .errores import ErrorDatosPersona
from .esquema import LIMITES
from .logger_base import log
from .persona import Persona


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
        with Conexion.obtener_conexion() as conexion:
            filas = conexion.execute(cls._SELECCIONAR).fetchall()
        return [Persona(*fila) for fila in filas]

    @classmethod
    def insertar(cls, persona: Persona) -> int:
        """Inserta la persona, le asigna su ``id_persona`` nuevo y devuelve las filas insertadas (1)."""
        valores = cls._validar(persona, con_id=False)
        with Conexion.obtener_conexion() as conexion:
            cursor = conexion.execute(cls._INSERTAR, valores)
            persona.id_persona = cursor.fetchone()[0]
            insertadas = cursor.rowcount
        log.debug(f"Persona insertada: {persona}")
        return insertadas

    @classmethod
    def actualizar(cls, persona: Persona) -> int:
        """Actualiza la persona por su ``id_persona``. Devuelve 0 si ese id no existe."""
        valores = cls._validar(persona, con_id=True)
        with Conexion.obtener_conexion() as conexion:
            actualizadas = conexion.execute(cls._ACTUALIZAR, (*valores, persona.id_persona)).rowcount
        cls._informar("actualizada", persona, actualizadas)
        return actualizadas

    @classmethod
    def eliminar(cls, persona: Persona) -> int:
        """Elimina la persona por su ``id_persona``. Devuelve 0 si ese id no existe."""
        cls._validar_id(persona)
        with Conexion.obtener_conexion() as conexion:
            eliminadas = conexion.execute(cls._ELIMINAR, (persona.id_persona,)).rowcount
        cls._informar("eliminada", persona, eliminadas)
        return eliminadas

    # --- Validación: mejor un mensaje claro antes que un error del servidor -------------

    @staticmethod
    def _informar(accion: str, persona: Persona, filas: int) -> None:
        if filas:
            log.debug(f"Persona {accion}: {persona}")
        else:
            log.warning(f"No existe ninguna persona con id_persona={persona.id_persona}: nada {accion}")

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
            valores.append(valor)
        return tuple(valores)  # type: ignore[return-value]

