"""Comprobaciones del cuaderno 7 (cerrar el pool y su ciclo de vida).

* 07.1 «Predice y ejecuta»: sesiones en el servidor al cerrar el pool con una
  conexión prestada y al devolverla (huellas de cada parte, con una pista según
  el error).
* 07.2 Opción múltiple: qué pasa al cerrar el pool con consultas en curso y un
  cliente esperando (huella).
* 07.3 Una función del alumno, ``abrir_pool(conninfo)``, que se ejecuta contra
  el servidor del curso: con un servidor que responde devuelve un pool abierto
  y lleno sin ``DeprecationWarning``; con una base que no existe falla pronto
  con ``PoolTimeout``.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

from psycopg.conninfo import make_conninfo
from psycopg_pool import ConnectionPool, PoolTimeout

from ...servidor import usar_servidor
from . import huella, registrar

_TRAS_CERRAR = "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b"
_TRAS_DEVOLVER = "5feceb66ffc86f38d952786c6d696c79c2dbc239dd4e91b46729d73a27fb57e9"


def _probar_sesiones(prediccion: Any) -> str | None:
    if not isinstance(prediccion, (tuple, list)) or len(prediccion) != 2:
        return "escribe dos números entre paréntesis: (sesiones tras cerrar, sesiones tras devolver b)."
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in prediccion):
        return "los dos valores son números enteros de sesiones, como (5, 5)."
    tras_cerrar, tras_devolver = prediccion
    if huella(tras_cerrar) != _TRAS_CERRAR:
        if tras_cerrar >= 2:
            return (
                "la primera no. close() no espera a nadie: cierra en el acto las conexiones libres "
                "del pool, y `a` ya estaba devuelta."
            )
        return (
            "la primera no. close() no le quita la conexión a quien la tiene prestada: `b` sigue "
            "abierta y su sesión también."
        )
    if huella(tras_devolver) != _TRAS_DEVOLVER:
        return "la segunda no. Un pool cerrado no guarda lo que le devuelven: ¿qué hace con `b` al recibirla?"
    return None


def _sin_avisos_del_pool() -> Callable[[], None]:
    """Calla los WARNING de reintento de ``psycopg.pool`` (llevan la ruta del socket); devuelve cómo restaurarlo."""
    registro = logging.getLogger("psycopg.pool")
    nivel = registro.level
    registro.setLevel(logging.ERROR)
    return lambda: registro.setLevel(nivel)


def _probar_abrir_pool(funcion: Any) -> str | None:
    if funcion is None or not callable(funcion):
        return "`respuesta` debe ser tu función, sin paréntesis: respuesta = abrir_pool"
    conninfo = usar_servidor().conninfo

    # 1. Con el servidor del curso: un pool abierto, ya lleno, y sin DeprecationWarning.
    with warnings.catch_warnings(record=True) as avisos:
        warnings.simplefilter("always")
        pool = funcion(conninfo)
        if not isinstance(pool, ConnectionPool):
            return f"abrir_pool() debe devolver el ConnectionPool que crea; devolvió {type(pool).__name__}."
        try:
            if pool.closed:
                return (
                    "abrir_pool() devolvió un pool ya cerrado. ¿Usaste `with ConnectionPool(...) as pool:` "
                    "y lo devolviste desde dentro? Al salir del with se cierra."
                )
            if pool.min_size != 2:
                return f"el enunciado pide min_size=2 y tu pool tiene min_size={pool.min_size}."
            libres = pool.get_stats()["pool_available"]
            if libres < pool.min_size:
                return (
                    f"tu función devolvió el pool con {libres} conexiones libres de {pool.min_size}: no esperó "
                    "a que se llenara. Llama a pool.wait(timeout=2) antes de devolverlo."
                )
            with pool.connection(timeout=5) as conexion:
                conexion.execute("SELECT 1")
        finally:
            pool.close()
    if any(issubclass(aviso.category, DeprecationWarning) for aviso in avisos):
        return (
            "psycopg_pool avisó con un DeprecationWarning: pasa open=True (o open=False y luego "
            "pool.open()) al crear el ConnectionPool."
        )

    # 2. Con una base de datos que no existe: debe fallar pronto, con PoolTimeout.
    malo = make_conninfo(conninfo, dbname="curso_base_que_no_existe")
    restaurar = _sin_avisos_del_pool()
    inicio = time.monotonic()
    try:
        pool = funcion(malo)
    except PoolTimeout:
        pool = None
    finally:
        restaurar()
    tardanza = time.monotonic() - inicio
    if pool is not None:
        pool.close()
        return (
            "con una base de datos que no existe tu función devolvió un pool en vez de fallar: el fallo "
            "llegaría después, en el primer préstamo. Llama a pool.wait(timeout=2) dentro de abrir_pool()."
        )
    if tardanza > 10:
        return f"falla bien, pero tardó {tardanza:.0f} s en hacerlo: pide a wait() como mucho 2 s."
    return None


registrar(
    "07.1",
    pista="piensa por separado en la conexión libre del pool (a) y en la prestada (b).",
    probar=_probar_sesiones,
    explicacion="Así es: close() cierra las libres; las prestadas siguen abiertas hasta que se devuelven.",
)

registrar(
    "07.2",
    pista=(
        "repasa los pasos 3 y 5: ¿close() espera a que le devuelvan las conexiones? ¿Qué recibe quien "
        "estaba esperando, y cuándo?"
    ),
    huella="3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d",
    explicacion="Así es: close() no corta las consultas en curso ni las espera; quien espera recibe PoolClosed al momento.",
)

registrar(
    "07.3",
    pista="crea el pool con open=True, llama a pool.wait(timeout=2) y devuélvelo.",
    probar=_probar_abrir_pool,
    explicacion="Con open= explícito y wait() al arrancar, si el servidor no está te enteras al arrancar, no en el primer préstamo.",
)
