"""Una espera interrumpida (el botón *Interrupt* de Jupyter) no le quita un hueco al pool.

En psycopg_pool 3.3.3 la petición interrumpida se queda en la cola de espera
y se lleva la siguiente conexión devuelta: el pool queda con un hueco menos.
El pool del curso la retira (ver ``capa_datos_persona._pool_observable``).
"""

from __future__ import annotations

import signal
import threading

import pytest
from psycopg_pool import PoolTimeout

from capa_datos_persona import Conexion


def _interrumpir_hilo_principal(despues: float) -> threading.Timer:
    """Manda SIGINT al hilo principal (como Ctrl-C o el Interrupt de Jupyter) dentro de ``despues`` s."""
    temporizador = threading.Timer(despues, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    temporizador.start()
    return temporizador


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="hace falta signal.pthread_kill (Unix)")
def test_espera_interrumpida_no_pierde_un_hueco() -> None:
    Conexion.MAX_CON = 1
    retenida = Conexion.obtener_conexion_manual()
    pool = Conexion.obtener_pool()
    temporizador = _interrumpir_hilo_principal(0.3)
    with pytest.raises(KeyboardInterrupt):
        Conexion.obtener_conexion_manual(timeout=10)
    temporizador.join()
    assert pool.get_stats()["requests_waiting"] == 0
    Conexion.liberar_conexion(retenida)
    # La conexión devuelta está libre: el siguiente la obtiene al momento.
    otra = Conexion.obtener_conexion_manual(timeout=1)
    Conexion.liberar_conexion(otra)
    stats = pool.get_stats()
    assert (stats["pool_size"], stats["pool_available"]) == (1, 1)


def test_un_observador_que_falla_no_se_lleva_la_conexion() -> None:
    Conexion.MAX_CON = 1
    pool = Conexion.obtener_pool()

    def observador_roto(evento: str, conexion: object) -> None:
        if evento == "obtenida":
            raise RuntimeError("observador roto")

    pool.observadores.append(observador_roto)
    with pytest.raises(RuntimeError, match="observador roto"):
        Conexion.obtener_conexion_manual()
    pool.observadores.remove(observador_roto)
    conexion = Conexion.obtener_conexion_manual(timeout=1)  # sin el arreglo: PoolTimeout
    Conexion.liberar_conexion(conexion)


def test_un_timeout_normal_sigue_siendo_un_timeout() -> None:
    Conexion.MAX_CON = 1
    retenida = Conexion.obtener_conexion_manual()
    with pytest.raises(PoolTimeout):
        Conexion.obtener_conexion_manual(timeout=0.2)
    Conexion.liberar_conexion(retenida)
    Conexion.liberar_conexion(Conexion.obtener_conexion_manual(timeout=1))


def test_la_cola_de_espera_se_ve_con_su_plazo() -> None:
    """``esperas()`` da lo que le queda a cada petición; una caducada sigue en la cola (con valor negativo)."""
    Conexion.MAX_CON = 1
    pool = Conexion.obtener_pool()
    eventos: list[str] = []
    pool.observadores.append(lambda evento, conexion: eventos.append(evento))
    retenida = Conexion.obtener_conexion_manual()
    vistas: list[list[float]] = []

    def esperar() -> None:
        with pytest.raises(PoolTimeout):
            Conexion.obtener_conexion_manual(timeout=0.6)

    hilo = threading.Thread(target=esperar)
    hilo.start()
    for _ in range(100):
        if pool.esperas():
            break
        threading.Event().wait(0.01)
    vistas.append(pool.esperas())
    hilo.join()
    vistas.append(pool.esperas())
    Conexion.liberar_conexion(retenida)
    assert len(vistas[0]) == 1 and 0 < vistas[0][0] <= 0.6
    assert len(vistas[1]) == 1 and vistas[1][0] <= 0  # caducada, pero todavía en la cola (requests_waiting = 1)
    assert pool.esperas() == []  # al entregar la siguiente conexión, el pool la descarta
    assert eventos[:3] == ["obtenida", "en_cola", "timeout"]
