"""El tablero del pool en directo y su repetición, contra PostgreSQL real (sin simulaciones)."""

from __future__ import annotations

import re
import sys
import threading
import time
from pathlib import Path

import matplotlib
import psycopg
import pytest
from psycopg_pool import PoolTimeout

matplotlib.use("Agg")

from capa_datos_persona import Conexion  # noqa: E402
from capa_datos_persona.laboratorio import concurrencia  # noqa: E402
from capa_datos_persona.laboratorio.diagnostico import APLICACION_OBSERVADOR  # noqa: E402
from capa_datos_persona.laboratorio.esperas import esperar_hasta  # noqa: E402
from capa_datos_persona.laboratorio.tablero import (  # noqa: E402
    Baldosa,
    Tablero,
    describir_prestamo,
    nombre_de_hilo,
)

SANITIZE = Path(__file__).resolve().parent / "sanitize.cfg"
ESTE_ARCHIVO = Path(__file__).name


def _linea_siguiente() -> int:
    """La línea de quien llama, más uno: la de la instrucción que sigue."""
    return sys._getframe(1).f_lineno + 1


def _prestadas(tablero: Tablero) -> list[Baldosa]:
    return [b for b in tablero.foto().baldosas if b.estado == "prestada"]


def test_baldosa_prestada_dice_donde_se_pidio() -> None:
    with Tablero(mostrar=False) as tablero:
        linea = _linea_siguiente()
        conexion = Conexion.obtener_conexion_manual()
        try:
            (baldosa,) = _prestadas(tablero)
            assert baldosa.origen == f"{ESTE_ARCHIVO}:{linea}"
            assert baldosa.pid == conexion.info.backend_pid
            assert baldosa.desde is not None and 0 <= baldosa.desde < 5
            html = tablero._dibujar(tablero.foto())
            assert f"pedida en {ESTE_ARCHIVO}:{linea}" in html
            assert "prestada" in html and f"PID {conexion.info.backend_pid}" in html
        finally:
            Conexion.liberar_conexion(conexion)
        # devuelta: la misma conexión, ahora libre
        (libre,) = [b for b in tablero.foto().baldosas if b.numero == baldosa.numero]
        assert libre.estado == "libre" and libre.prestamos == 1


def test_con_with_el_origen_es_la_linea_del_with_no_contextlib() -> None:
    with Tablero(mostrar=False) as tablero:
        linea = _linea_siguiente()
        with Conexion.obtener_conexion():
            (baldosa,) = _prestadas(tablero)
    assert baldosa.origen == f"{ESTE_ARCHIVO}:{linea}"


def test_plazas_sin_abrir_hasta_max_con() -> None:
    with Tablero(mostrar=False) as tablero:
        foto = tablero.foto()
    assert foto.maximo == Conexion.MAX_CON == 5
    assert [b.estado for b in foto.baldosas].count("sin abrir") == Conexion.MAX_CON - foto.tamano
    assert len(foto.baldosas) == Conexion.MAX_CON


def test_cuenta_atras_y_peticion_caducada_que_sigue_en_la_cola() -> None:
    pool = Conexion.obtener_pool()
    with Tablero(mostrar=False) as tablero:
        retenidas = [Conexion.obtener_conexion_manual() for _ in range(Conexion.MAX_CON)]
        resultado: dict[str, object] = {}

        def esperar() -> None:
            try:
                resultado["conexion"] = pool.getconn(timeout=1.5)
            except PoolTimeout as exc:
                resultado["error"] = exc

        hilo = threading.Thread(target=esperar, name="espera-prueba")
        try:
            hilo.start()
            assert esperar_hasta(lambda: len(tablero.foto().esperas) == 1, 5.0)
            foto = tablero.foto()
            assert 0 < foto.esperas[0] <= 1.5 and foto.plazos == (1.5,)
            html = tablero._dibujar(foto)
            assert "Cola de espera</b> (1)" in html and "PoolTimeout en" in html
            hilo.join()
            assert isinstance(resultado.get("error"), PoolTimeout)
            # La petición caducada sigue en la cola de psycopg_pool (y en requests_waiting)
            foto = tablero.foto()
            assert len(foto.esperas) == 1 and foto.esperas[0] < 0 and foto.caducadas == 1
            assert pool.get_stats()["requests_waiting"] == 1
            assert "caducada, aún en la cola" in tablero._dibujar(foto)
        finally:
            hilo.join()
            for conexion in retenidas:
                Conexion.liberar_conexion(conexion)
        # La primera conexión devuelta la descarta: la cola queda vacía.
        foto = tablero.foto()
        assert foto.esperas == () and pool.get_stats()["requests_waiting"] == 0
    assert tablero.final is not None and tablero.final.esperas == ()


def test_sesiones_del_servidor_por_estado() -> None:
    with Tablero(mostrar=False) as tablero:
        quieta = Conexion.obtener_conexion_manual()
        en_transaccion = Conexion.obtener_conexion_manual()
        try:
            en_transaccion.execute("SELECT 1")  # abre una transacción y no la cierra

            def estados() -> dict[str, int] | None:
                return tablero.foto().sesiones

            assert esperar_hasta(lambda: (estados() or {}).get("idle in transaction") == 1, 5.0, pausa=0.05)
            sesiones = estados()
            assert sesiones is not None
            assert sum(sesiones.values()) == Conexion.obtener_pool().get_stats()["pool_size"]
            assert sesiones.get("idle", 0) >= 1
            html = tablero._dibujar(tablero.foto())
            assert "idle in transaction" in html and "con una transacción abierta" in html
        finally:
            en_transaccion.rollback()
            Conexion.liberar_conexion(en_transaccion)
            Conexion.liberar_conexion(quieta)


def _sesiones_observadoras(directa: psycopg.Connection) -> int:
    return directa.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
        (APLICACION_OBSERVADOR,),
    ).fetchone()[0]


def test_salir_del_with_para_el_hilo_y_cierra_su_conexion(directa: psycopg.Connection) -> None:
    pool = Conexion.obtener_pool()
    antes = _sesiones_observadoras(directa)
    hilos_antes = {h.name for h in threading.enumerate()}
    with Tablero(mostrar=False, refresco=0.05) as tablero:
        assert tablero.hilo_vivo and tablero.conexion_abierta
        assert "tablero-pool" in {h.name for h in threading.enumerate()} - hilos_antes
        assert _sesiones_observadoras(directa) == antes + 1  # una sola conexión propia, fuera del pool
        assert len(pool.observadores) == 1  # uno solo: el tablero, que pasa los sucesos a su registrador
        assert esperar_hasta(lambda: tablero.refrescos >= 3, 5.0)  # se redibuja solo
    assert not tablero.hilo_vivo and not tablero.conexion_abierta
    assert pool.observadores == []
    assert {h.name for h in threading.enumerate()} <= hilos_antes | {"MainThread"}
    assert esperar_hasta(lambda: _sesiones_observadoras(directa) == antes, 5.0, pausa=0.05)
    refrescos = tablero.refrescos
    time.sleep(0.15)
    assert tablero.refrescos == refrescos
    tablero.detener()  # dos veces no falla
    with pytest.raises(RuntimeError, match="ya se abrió"):
        tablero.iniciar()


def test_el_registrador_de_dentro_tiene_los_sucesos() -> None:
    with Tablero(mostrar=False) as tablero:
        for _ in range(3):
            with Conexion.obtener_conexion():
                pass
    cuenta = tablero.registro.eventos["evento"].value_counts().to_dict()
    assert cuenta == {"obtenida": 3, "devuelta": 3}
    m = tablero.registro.muestras
    assert m["sesiones_servidor"].notna().any()  # la cifra la pone el tablero, que ya consulta el servidor
    assert "3 préstamos · 0 PoolTimeout" in tablero.html


def test_origen_en_un_hilo_del_laboratorio_es_la_funcion_del_hilo() -> None:
    with Tablero(mostrar=False) as tablero:
        concurrencia.ejecutar_carga(hilos=2, usos=2, argumento=0.0, registrar=False)
    origenes = {describir_prestamo(origen, nombre) for _t, _id, origen, _hilo, nombre in tablero.prestamos()}
    assert origenes and all(re.fullmatch(r"hilo carga-[01]: trabajar\(\) en concurrencia\.py:\d+", o)
                            for o in origenes), origenes


def test_nombre_de_hilo() -> None:
    assert nombre_de_hilo("Thread-7 (pedir_una)") == "pedir_una"
    assert nombre_de_hilo("Thread-12") == "secundario"
    assert nombre_de_hilo("carga-3") == "carga-3"


def _enmascarar(texto: str) -> str:
    """Lo que hace nbval con ``tests/sanitize.cfg`` antes de comparar."""
    pares = re.findall(r"^regex: (.*)$\n^replace: (.*)$", SANITIZE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    for regex, reemplazo in pares:
        texto = re.sub(regex, reemplazo, texto)
    return texto


def _agotar_con_tablero() -> Tablero:
    """El experimento del cuaderno 5 en pequeño: el pool lleno y una petición que caduca."""
    Conexion.cerrar_conexiones()
    Conexion.MAX_CON = 2
    with Tablero(mostrar=False) as tablero:
        retenidas = [Conexion.obtener_conexion_manual() for _ in range(2)]
        with pytest.raises(PoolTimeout):
            Conexion.obtener_conexion_manual(timeout=0.2)
    for conexion in retenidas:
        Conexion.liberar_conexion(conexion)
    Conexion.cerrar_conexiones()
    return tablero


def test_el_estado_final_es_el_mismo_en_cada_ejecucion_tras_enmascarar() -> None:
    primero, segundo = _agotar_con_tablero(), _agotar_con_tablero()
    assert primero.html != segundo.html  # tiempos y PID cambian...
    assert _enmascarar(primero.html) == _enmascarar(segundo.html)  # ...y las reglas de nbval los tapan
    final = primero.final
    assert final is not None
    assert [b.estado for b in final.baldosas] == ["prestada", "prestada"]
    assert final.caducadas == 1
    assert "terminado" in primero.html and "caducada, aún en la cola" in primero.html
    assert "pedida en test_tablero.py:" in primero.html
    assert primero._mime(primero.html, final, final=True)["text/plain"] == (
        "Tablero del pool «pool_persona», estado final: abiertas 2 de 2 · en uso 2 · libres 0 · en cola 1 "
        "(1 caducada)"
    )
    # el rótulo del tablero en directo es fijo: nbval compara el primero con el último
    assert primero._rotulo() == segundo._rotulo()


def test_repeticion_es_una_animacion_html_autonoma() -> None:
    tablero = Tablero(mostrar=False)
    with pytest.raises(RuntimeError, match="al terminar"):
        tablero.repeticion()
    with tablero:
        conexion = Conexion.obtener_conexion_manual()
        time.sleep(0.1)
        Conexion.liberar_conexion(conexion)
    html = tablero.repeticion_html(fotogramas=6, fps=4)
    assert html.startswith('<div class="tp-repeticion"')
    assert '<div class="animation">' in html
    assert len(re.findall(r'frames\[\d+\] = "data:image/png;base64,', html)) == 6
    assert "maxcdn" not in html and "font-awesome" not in html  # nada que descargar
    assert re.search(r"[0-9a-f]{32}", html) is None  # sin el identificador aleatorio de matplotlib
    assert 'title="Reproducir"' in html
    assert len(html) < 150_000
    otra = tablero.repeticion_html(fotogramas=6, fps=4)
    assert _enmascarar(otra).replace("tablero2", "tablero1") == _enmascarar(html)
    from IPython.display import HTML

    assert isinstance(tablero.repeticion(fotogramas=3), HTML)
    with pytest.raises(ValueError, match="fotogramas"):
        tablero.repeticion(fotogramas=500)
