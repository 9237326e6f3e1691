"""Ejercicios del cuaderno 9 (fallos del servidor)."""

from __future__ import annotations

from typing import Any

from . import registrar

registrar(
    "09.1",
    pista=(
        "mira la tabla del experimento y cuenta los usos que no dicen «bien». Piensa en qué tenía el pool "
        "justo después del reinicio y en cuántas veces se presta cada conexión rota antes de que el pool la descarte."
    ),
    huella="d4735e3a265e16eee03f59718b9b5d03019c07d8b6c51f90da3a666eec13ab35",
    explicacion="Sin verificar, cada conexión libre de antes del reinicio falla una vez en tu código.",
)

registrar(
    "09.2",
    pista=(
        "repasa la gráfica del paso 2 (¿cuándo se entera el pool del corte?) y la tabla del paso 3 "
        "(¿cuántas clases de excepción distintas viste?). Escribe solo la letra, entre comillas."
    ),
    huella="3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
    explicacion="Nadie reconecta solo y la excepción cambia con la causa: captura psycopg.OperationalError.",
)


def _probar_reintento(funcion: Any) -> str | None:
    """Prueba la función del alumno contra el servidor real, con una conexión rota en el pool."""
    import psycopg

    from ...conexion import Conexion
    from ..fallos import cortar_sesiones_del_pool

    if not callable(funcion):
        return "`consultar_con_reintento` debe ser una función: escríbela con `def consultar_con_reintento(sql, intentos=2):`."

    def pool_con_una_conexion_rota():  # type: ignore[no-untyped-def]
        Conexion.VERIFICAR = False
        Conexion.cerrar_conexiones()
        pool = Conexion.obtener_pool()  # pool nuevo con MIN_CON = 1 conexión libre...
        cortar_sesiones_del_pool()  # ...que queda rota sin que el pool lo sepa
        return pool

    try:
        pool = pool_con_una_conexion_rota()
        try:
            valor = funcion("SELECT 1")
        except psycopg.OperationalError:
            return (
                "con una conexión rota y intentos=2, el error del primer intento llegó a quien llama: "
                "captura psycopg.OperationalError y vuelve a intentarlo."
            )
        if valor != 1:
            return f"consultar_con_reintento('SELECT 1') devolvió {valor!r}; debería devolver 1 (`.fetchone()[0]`)."
        if pool.get_stats().get("returns_bad", 0) != 1:
            return (
                "el primer intento no usó la conexión rota del pool: pide la conexión de cada intento "
                "con `with Conexion.obtener_conexion() as conexion:`."
            )

        pool = pool_con_una_conexion_rota()
        try:
            funcion("SELECT 1", intentos=1)
        except psycopg.OperationalError:
            pass
        else:
            return "con intentos=1 el error debe llegar a quien llama: en el último intento, vuelve a lanzarlo con `raise`."

        antes = pool.get_stats().get("requests_num", 0)
        try:
            funcion("SELECT * FROM tabla_que_no_existe")
        except psycopg.errors.UndefinedTable:
            pass
        except psycopg.Error as exc:
            return f"una consulta con un error de SQL debería lanzar UndefinedTable, pero llegó {type(exc).__name__}."
        else:
            return "una consulta a una tabla que no existe debería lanzar su error, no devolver un valor."
        if pool.get_stats().get("requests_num", 0) - antes != 1:
            return (
                "reintentaste un error de SQL (UndefinedTable no es un OperationalError): repetirlo no lo arregla. "
                "Captura solo psycopg.OperationalError."
            )
        return None
    finally:
        Conexion.cerrar_conexiones()


registrar(
    "09.3",
    pista="relee los cuatro puntos del enunciado; la solución plegada usa un `for` con el `with` dentro del `try`.",
    probar=_probar_reintento,
    explicacion="Un reintento salva la primera lectura tras un corte, y el error no se esconde.",
)
