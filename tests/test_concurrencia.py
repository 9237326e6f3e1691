"""Varios hilos comparten el pool: esperas, rendimiento y ``max_waiting``, contra PostgreSQL real.

La máquina de las pruebas puede ir cargada: ninguna comprobación usa tiempos
absolutos salvo cotas muy holgadas frente a un ``timeout`` conocido; el resto
son cocientes con mucho margen (lo ideal es 4 veces; se pide más de 1,5).
"""

from __future__ import annotations

import socket
import threading
import time

import matplotlib
import pytest

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from psycopg_pool import TooManyRequests  # noqa: E402

from capa_datos_persona import Conexion, ErrorConexionBD  # noqa: E402
from capa_datos_persona.laboratorio import concurrencia as cc  # noqa: E402
from capa_datos_persona.laboratorio import graficas  # noqa: E402
from capa_datos_persona.laboratorio.diagnostico import contar_sesiones_del_pool  # noqa: E402
from capa_datos_persona.laboratorio.esperas import esperar_hasta  # noqa: E402

HILOS = 4
USOS = 5


def _pool_cerrado() -> None:
    """No hay pool: ni servidor conectado ni sesiones de este proceso en el servidor."""
    assert Conexion.servidor_conectado() is None
    # el servidor tarda unos milisegundos en terminar los procesos de las sesiones cerradas
    assert esperar_hasta(lambda: contar_sesiones_del_pool() == 0, 5.0, pausa=0.05)


def _sin_prestamos() -> None:
    """Nada prestado ni esperando en el pool actual."""
    stats = Conexion.obtener_pool().get_stats()
    assert stats["pool_size"] == stats["pool_available"]
    assert stats["requests_waiting"] == 0


def test_carga_en_un_pool_de_5_no_supera_max_con_y_lo_devuelve_todo() -> None:
    carga = cc.ejecutar_carga(hilos=8, usos=USOS)
    assert carga.max_size == Conexion.MAX_CON == 5
    assert carga.completados == 8 * USOS and carga.errores == []
    assert len(carga.peticiones) == 8 * USOS
    assert 1 <= carga.max_simultaneas <= Conexion.MAX_CON
    m = carga.registro.muestras
    assert (m["en_uso"] <= Conexion.MAX_CON).all() and (m["tamano"] <= Conexion.MAX_CON).all()
    assert m["esperando"].max() <= 8 - 1  # como mucho, todos menos el que tiene la conexión
    assert m["en_uso"].iloc[-1] == 0
    eventos = carga.registro.eventos["evento"].value_counts().to_dict()
    assert eventos == {"obtenida": 8 * USOS, "devuelta": 8 * USOS}
    assert carga.espera_maxima >= carga.espera_media >= 0
    assert carga.rendimiento > 0 and carga.duracion > 0
    tabla = carga.tabla
    assert list(tabla.columns) == ["hilo", "uso", "t", "espera", "retenida", "error"]
    assert tabla["t"].is_monotonic_increasing and tabla["error"].isna().all()
    # cada uso retuvo su conexión al menos lo que duerme la consulta
    assert (tabla["retenida"] >= 0.02).all()
    _sin_prestamos()


def test_barrido_mas_conexiones_mas_rendimiento_y_menos_espera() -> None:
    tabla = cc.barrido_tamanos(tamanos=[1, HILOS], hilos=HILOS, usos=USOS)
    assert tabla["max_size"].tolist() == [1, HILOS]
    assert (tabla["errores"] == 0).all()
    assert (tabla["max_en_uso"] <= tabla["max_size"]).all()
    assert tabla["max_en_uso"].iloc[0] == 1
    uno, todos = tabla.iloc[0], tabla.iloc[1]
    # lo ideal: 4 veces más rendimiento; la espera con 1 conexión es la de 3 usos ajenos
    assert todos["rendimiento"] > 1.5 * uno["rendimiento"]
    assert uno["espera_media_ms"] > 3 * todos["espera_media_ms"]
    assert tabla["ganancia"].iloc[0] == 1.0
    assert tabla["carga"].iloc[0] == "SELECT pg_sleep(0.02)"
    # deja el pool cerrado y los valores de clase como estaban
    _pool_cerrado()
    assert (Conexion.MIN_CON, Conexion.MAX_CON) == (1, 5)


def test_barrido_restaura_min_y_max_con_aunque_falle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Un fallo de verdad dentro del barrido: el servidor no responde cuando va a crear el pool de 3."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        puerto = s.getsockname()[1]
    with monkeypatch.context() as m:
        m.setenv("DATABASE_URL", f"postgresql://postgres:x@127.0.0.1:{puerto}/test_db")
        with pytest.raises(ErrorConexionBD, match=f"127.0.0.1:{puerto}"):
            cc.barrido_tamanos(tamanos=[3])
    assert (Conexion.MIN_CON, Conexion.MAX_CON) == (1, 5)
    _pool_cerrado()  # ya con el servidor de las pruebas, para mirarlo
    with pytest.raises(ValueError, match="de 1 en adelante"):
        cc.barrido_tamanos(tamanos=[0, 1])


def test_los_usos_que_fallan_se_cuentan_sin_parar_la_carga() -> None:
    Conexion.MAX_CON = 1
    Conexion.TIMEOUT = 0.05  # mucho menos que lo que retiene cada uso
    carga = cc.ejecutar_carga(hilos=3, usos=1, argumento=0.5, registrar=False)
    assert len(carga.peticiones) == 3
    assert carga.completados >= 1 and len(carga.errores) >= 1
    assert carga.completados + len(carga.errores) == 3
    assert set(carga.errores) == {"PoolTimeout: couldn't get a connection after 0.05 sec"}
    assert carga.registro is None
    stats = Conexion.obtener_pool().get_stats()
    assert stats["pool_size"] == stats["pool_available"] == 1


def test_max_waiting_rechaza_al_momento_con_too_many_requests() -> None:
    hilos_antes = threading.active_count()
    pool = cc.pool_limitado(max_waiting=1, timeout=5.0)
    try:
        with cc.cola_llena(pool) as cola:
            assert pool.get_stats()["requests_waiting"] == 1
            inicio = time.monotonic()
            with pytest.raises(TooManyRequests, match=r"^the pool 'pool_limitado' has already 1 requests waiting$"):
                pool.getconn()
            # sin max_waiting esperaría los 5 s del timeout; el rechazo es inmediato
            assert time.monotonic() - inicio < 2.5
        assert (cola.retenidas, cola.en_cola, cola.atendidas, cola.errores) == (1, 1, 1, [])
        stats = pool.get_stats()
        assert stats["pool_size"] == stats["pool_available"] == 1
        assert stats["requests_waiting"] == 0 and stats["requests_errors"] == 1
    finally:
        pool.close()
    assert threading.active_count() == hilos_antes  # el hilo de la cola terminó


def test_regla_de_hikari() -> None:
    assert cc.regla_hikari(4, 1) == 9  # el ejemplo del wiki de HikariCP: "unas 10"
    assert cc.regla_hikari(2) == 4


def test_graficas_en_espanol() -> None:
    carga = cc.ejecutar_carga(hilos=3, usos=2)
    fig = graficas.grafica_carga(carga)
    arriba, abajo = fig.axes
    assert arriba.get_title() == "3 hilos comparten un pool de 5 conexiones"
    assert abajo.get_ylabel() == "espera (ms)"
    assert "espera de cada petición" in abajo.get_legend_handles_labels()[1]
    tabla = cc.barrido_tamanos(tamanos=[1, 2], hilos=2, usos=2)
    fig = graficas.grafica_barrido(tabla, duracion_uso=0.02, hilos=2)
    assert [a.get_ylabel() for a in fig.axes] == ["usos por segundo", "espera media (ms)"]
    fig = graficas.grafica_ganancia([tabla], hilos=2, nucleos=2)
    assert fig.axes[0].get_xlabel() == "max_size (conexiones del pool)"
    sin_registro = cc.ejecutar_carga(hilos=1, usos=1, registrar=False)
    with pytest.raises(ValueError, match="sin registro"):
        graficas.grafica_carga(sin_registro)
    plt.close("all")
