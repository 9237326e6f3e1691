"""Ejercicios del cuaderno 3 (devolver a mano con ``getconn()``/``putconn()``).

* 03.1 «Predice y ejecuta»: cuántas filas guarda una conexión devuelta sin ``commit()``.
* 03.2 Opción múltiple: por qué ``liberar_conexion()`` no puede rechazar una
  devolución tardía cuando el pool prestó la misma conexión a mano.
* 03.3 Función ``usar_y_devolver(sql)``: se ejecuta contra el servidor de verdad.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from ...conexion import Conexion
from ..diagnostico import conexion_directa
from . import registrar

registrar(
    "03.1",
    pista=(
        "mira la salida del experimento y el WARNING del pool: ¿qué hace psycopg_pool con una "
        "transacción que sigue abierta cuando recibe la conexión?"
    ),
    huella="5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9",
    explicacion=(
        "El pool no presta a otro una conexión con una transacción a medias: la deshace "
        "(rollback) y solo lo anota con un WARNING. Lo que no confirmaste con commit() se pierde."
    ),
)

registrar(
    "03.2",
    pista=(
        "compara las dos variables del último ejemplo con `is`: ¿son objetos distintos? "
        "¿Qué puede saber liberar_conexion() de quién le pasa la conexión?"
    ),
    huella="2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
    explicacion=(
        "`primera` y `segunda` son el mismo objeto: liberar_conexion() anota qué conexiones "
        "están prestadas a mano, no qué variable las tiene. Por eso la regla es olvidar la "
        "variable en cuanto la devuelves."
    ),
)

_EMAIL_03_3 = "ejercicio.03.3@ejemplo.com"


def _en_uso() -> int:
    estadisticas = Conexion.obtener_pool().get_stats()
    return estadisticas["pool_size"] - estadisticas["pool_available"]


def _filas_03_3() -> int:
    with conexion_directa() as otra:
        return otra.execute("SELECT count(*) FROM persona WHERE email = %s", (_EMAIL_03_3,)).fetchone()[0]


def _probar_usar_y_devolver(funcion: Callable[[str], Any]) -> str | None:
    if not callable(funcion):
        return "usar_y_devolver debe ser una función: empieza con `def usar_y_devolver(sql):`."
    en_uso_antes, manuales_antes = _en_uso(), Conexion.prestadas_manualmente()

    def quedo_prestada() -> bool:
        return _en_uso() > en_uso_antes or Conexion.prestadas_manualmente() > manuales_antes

    valor = funcion("SELECT 1")
    if valor != 1:
        return f"usar_y_devolver('SELECT 1') devolvió {valor!r}: debe devolver el primer valor de la primera fila (1)."
    if quedo_prestada():
        return "después de usarla, la conexión sigue prestada: devuélvela con Conexion.liberar_conexion()."
    try:
        funcion("SELECT 1/0")
    except psycopg.Error:
        pass
    else:
        return "con un SQL que falla, usar_y_devolver debe dejar pasar el error: no lo atrapes con except."
    if quedo_prestada():
        return "cuando el SQL falla, la conexión se queda prestada: devuélvela en un bloque finally."
    try:
        funcion(
            "INSERT INTO persona (nombre, apellido, email) "
            f"VALUES ('Ejercicio', 'Tres', '{_EMAIL_03_3}') RETURNING id_persona"
        )
        guardadas = _filas_03_3()
    finally:
        with conexion_directa() as otra:
            otra.execute("DELETE FROM persona WHERE email = %s", (_EMAIL_03_3,))
    if quedo_prestada():
        return "con un INSERT, la conexión se queda prestada: devuélvela siempre con liberar_conexion()."
    if guardadas != 1:
        return (
            "con un INSERT, la fila no quedó guardada: confirma con commit() antes de devolver "
            "la conexión (trampa 1)."
        )
    return None


registrar(
    "03.3",
    pista="pide la conexión antes del try, confirma con commit() dentro y devuélvela en el finally.",
    probar=_probar_usar_y_devolver,
    explicacion=(
        "La conexión vuelve al pool tanto si el SQL funciona como si falla, el error no se "
        "esconde y lo que escribes queda confirmado."
    ),
)
