"""Prueba de carga: 32 hilos comparten el pool de 5 conexiones del curso.

No es una medida de velocidad (no hay límites de tiempo): comprueba que, con
mucha competencia por pocas conexiones, ``with Conexion.obtener_conexion()``
no pierde ni duplica escrituras, no falla en ningún hilo y no deja nada
prestado ni abierto al terminar.

La tabla ``carga`` se crea y se borra con una conexión directa (fuera del
pool), para que el pool solo cuente las peticiones de la prueba.
"""

from __future__ import annotations

import threading
import time

import pytest

from capa_datos_persona import Conexion
from capa_datos_persona.laboratorio.diagnostico import conexion_directa, contar_sesiones_del_pool

pytestmark = pytest.mark.slow  # unos 6 s: 16 000 préstamos

HILOS = 32
USOS_POR_HILO = 500
TOTAL = HILOS * USOS_POR_HILO  # 16 000


def _trabajar(hilo: int, salida: threading.Barrier, errores: list[tuple[int, int, BaseException]]) -> None:
    """Un hilo: 500 préstamos con ``with``, cada uno con un INSERT pequeño."""
    salida.wait()  # todos los hilos empiezan a la vez
    for i in range(USOS_POR_HILO):
        try:
            with Conexion.obtener_conexion() as conexion:
                conexion.execute("INSERT INTO carga (hilo, i) VALUES (%s, %s)", (hilo, i))
        except BaseException as exc:  # cualquier fallo cuenta; se informa al final
            errores.append((hilo, i, exc))


def test_32_hilos_comparten_el_pool_sin_perder_ni_duplicar_filas() -> None:
    with conexion_directa() as directa:
        directa.execute("DROP TABLE IF EXISTS carga")
        directa.execute("CREATE TABLE carga (id serial PRIMARY KEY, hilo int NOT NULL, i int NOT NULL, UNIQUE (hilo, i))")
        try:
            # 32 hilos compiten por 5 conexiones en una máquina de 2 núcleos: la espera
            # puede superar los 3 s de clase. La fixture pool_limpio restaura TIMEOUT.
            Conexion.TIMEOUT = 30.0
            pool = Conexion.obtener_pool()  # pool nuevo: la fixture cerró el anterior
            assert pool.get_stats().get("requests_num", 0) == 0

            errores: list[tuple[int, int, BaseException]] = []
            salida = threading.Barrier(HILOS)
            hilos = [
                threading.Thread(target=_trabajar, args=(h, salida, errores), name=f"carga-{h}") for h in range(HILOS)
            ]
            for hilo in hilos:
                hilo.start()
            for hilo in hilos:
                hilo.join()

            assert not errores, f"{len(errores)} usos fallaron; el primero (hilo, i, error): {errores[0]!r}"

            total, distintas, hilos_vistos = directa.execute(
                "SELECT count(*), count(DISTINCT (hilo, i)), count(DISTINCT hilo) FROM carga"
            ).fetchone()
            assert (total, distintas, hilos_vistos) == (TOTAL, TOTAL, HILOS), "se perdieron o duplicaron filas"
            por_hilo = directa.execute(
                "SELECT min(n), max(n) FROM (SELECT count(*) AS n FROM carga GROUP BY hilo) AS t"
            ).fetchone()
            assert por_hilo == (USOS_POR_HILO, USOS_POR_HILO)

            estadisticas = pool.get_stats()
            assert estadisticas["requests_num"] == TOTAL
            assert estadisticas.get("requests_errors", 0) == 0
            assert estadisticas["pool_size"] <= Conexion.MAX_CON
            assert estadisticas["pool_size"] == estadisticas["pool_available"], "quedaron conexiones prestadas"
            assert estadisticas["requests_waiting"] == 0
            assert Conexion.prestadas_manualmente() == 0

            Conexion.cerrar_conexiones()
            limite = time.monotonic() + 5.0  # los procesos del servidor tardan unos ms en terminar
            sesiones = contar_sesiones_del_pool(directa)
            while sesiones and time.monotonic() < limite:
                time.sleep(0.05)
                sesiones = contar_sesiones_del_pool(directa)
            assert sesiones == 0, f"el servidor aún ve {sesiones} sesiones del pool tras cerrarlo"
        finally:
            Conexion.cerrar_conexiones()
            directa.execute("DROP TABLE IF EXISTS carga")
