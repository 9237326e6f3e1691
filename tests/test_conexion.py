"""La clase Conexion contra un PostgreSQL real: prestar, devolver, agotar, cerrar."""

from __future__ import annotations

import time

import psycopg
import pytest
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from capa_datos_persona import Conexion, ErrorDevolucion, ErrorTipoDevolucion
from capa_datos_persona.laboratorio.diagnostico import contar_sesiones_del_pool
from capa_datos_persona.laboratorio.esperas import esperar_hasta
from capa_datos_persona.servidor import usar_servidor


def test_el_pool_se_crea_una_vez_abierto_con_nombre_y_limites() -> None:
    pool = Conexion.obtener_pool()
    assert pool is Conexion.obtener_pool()
    assert not pool.closed
    assert pool.name == Conexion.NOMBRE_POOL
    estadisticas = pool.get_stats()
    assert (estadisticas["pool_min"], estadisticas["pool_max"]) == (1, 5)
    assert pool.timeout == Conexion.TIMEOUT
    assert 1 <= Conexion.TIMEOUT <= 10, "el TIMEOUT de clase debe ser corto para una demostración"


def test_with_devuelve_la_conexion_y_reutiliza_la_misma(directa: psycopg.Connection) -> None:
    ids, pids = set(), set()
    for _ in range(6):  # seis usos seguidos con un pool de cinco
        with Conexion.obtener_conexion() as conexion:
            ids.add(id(conexion))
            pids.add(conexion.info.backend_pid)
    estadisticas = Conexion.obtener_pool().get_stats()
    assert estadisticas["pool_size"] - estadisticas["pool_available"] == 0
    assert estadisticas["requests_num"] == 6
    assert len(ids) == 1 and len(pids) == 1
    assert contar_sesiones_del_pool(directa) == 1


def test_with_hace_commit_al_terminar_bien(tabla: None, filas) -> None:
    with Conexion.obtener_conexion() as conexion:
        conexion.execute("INSERT INTO persona (nombre, apellido, email) VALUES ('Ana', 'Ruiz', 'ana@mail.com')")
    assert [f[1] for f in filas()] == ["Juan", "Karla", "María", "Ana"]


def test_with_hace_rollback_si_hay_excepcion(tabla: None, filas) -> None:
    antes = filas()
    with pytest.raises(ZeroDivisionError):
        with Conexion.obtener_conexion() as conexion:
            conexion.execute("INSERT INTO persona (nombre, apellido, email) VALUES ('Ana', 'Ruiz', 'ana@mail.com')")
            1 / 0
    assert filas() == antes
    assert Conexion.obtener_pool().get_stats()["pool_available"] == 1


def test_manual_presta_y_devuelve() -> None:
    conexion = Conexion.obtener_conexion_manual()
    pool = Conexion.obtener_pool()
    assert pool.get_stats()["pool_available"] == 0
    assert Conexion.prestadas_manualmente() == 1
    Conexion.liberar_conexion(conexion)
    assert pool.get_stats()["pool_available"] == 1
    assert Conexion.prestadas_manualmente() == 0


def test_liberar_dos_veces_seguidas_se_rechaza() -> None:
    conexion = Conexion.obtener_conexion_manual()
    Conexion.liberar_conexion(conexion)
    with pytest.raises(ErrorDevolucion, match="no se puede devolver dos veces"):
        Conexion.liberar_conexion(conexion)
    assert Conexion.obtener_pool().get_stats()["pool_available"] == 1


def test_liberar_tarde_cuando_ya_la_usa_otro_se_rechaza() -> None:
    """psycopg_pool acepta en silencio este error (dos clientes con una conexión); nosotros no."""
    vieja = Conexion.obtener_conexion_manual()
    Conexion.liberar_conexion(vieja)
    with Conexion.obtener_conexion() as de_otro:
        assert de_otro is vieja  # el pool la prestó de nuevo
        with pytest.raises(ErrorDevolucion, match="ya se devolvió"):
            Conexion.liberar_conexion(vieja)
        assert de_otro.execute("SELECT 1").fetchone() == (1,)
        assert Conexion.obtener_pool().get_stats()["pool_available"] == 0


def test_liberar_una_conexion_de_with_se_rechaza() -> None:
    with Conexion.obtener_conexion() as conexion:
        with pytest.raises(ErrorDevolucion, match="se devuelve sola"):
            Conexion.liberar_conexion(conexion)


def test_liberar_algo_que_no_es_conexion_se_rechaza() -> None:
    for cosa in (None, "conexion", 42):
        with pytest.raises(ErrorTipoDevolucion, match="espera una conexión"):
            Conexion.liberar_conexion(cosa)  # type: ignore[arg-type]


def test_liberar_conexion_de_fuera_o_de_otro_pool_se_rechaza() -> None:
    conninfo = usar_servidor().conninfo
    with psycopg.connect(conninfo) as suelta:
        with pytest.raises(ErrorDevolucion, match="no salió de ningún pool"):
            Conexion.liberar_conexion(suelta)
    with ConnectionPool(conninfo, min_size=1, max_size=1, name="otro", open=True) as otro:
        ajena = otro.getconn()
        with pytest.raises(ErrorDevolucion, match="viene de otro pool \\('otro'\\)"):
            Conexion.liberar_conexion(ajena)
        otro.putconn(ajena)


def test_agotar_el_pool_espera_timeout_y_lanza_pooltimeout() -> None:
    Conexion.TIMEOUT = 1.0
    prestadas = [Conexion.obtener_conexion_manual() for _ in range(Conexion.MAX_CON)]
    inicio = time.monotonic()
    # quien captura psycopg.OperationalError (lo habitual) también atrapa el PoolTimeout
    with pytest.raises(psycopg.OperationalError, match=r"couldn't get a connection after 1\.00 sec") as info:
        Conexion.obtener_conexion_manual()
    espera = time.monotonic() - inicio
    assert type(info.value) is PoolTimeout
    assert 0.9 <= espera < 3.0
    for conexion in prestadas:
        Conexion.liberar_conexion(conexion)
    with Conexion.obtener_conexion() as conexion:  # el pool se recupera
        assert conexion.execute("SELECT 1").fetchone() == (1,)


def test_cerrar_conexiones_y_lo_que_pasa_despues(directa: psycopg.Connection) -> None:
    viejo = Conexion.obtener_pool()
    prestada = Conexion.obtener_conexion_manual()
    Conexion.cerrar_conexiones()
    assert viejo.closed
    # la prestada sigue funcionando hasta que se devuelve; al devolverla se cierra
    assert prestada.execute("SELECT 1").fetchone() == (1,)
    Conexion.liberar_conexion(prestada)
    assert prestada.closed
    with pytest.raises(PoolClosed):
        viejo.getconn()
    # el siguiente obtener_* crea un pool nuevo
    with Conexion.obtener_conexion() as conexion:
        assert conexion.execute("SELECT 1").fetchone() == (1,)
    assert Conexion.obtener_pool() is not viejo
    Conexion.cerrar_conexiones()
    # el servidor tarda unos milisegundos en retirar la sesión que el pool acaba de cerrar
    assert esperar_hasta(lambda: contar_sesiones_del_pool(directa) == 0, 5.0, pausa=0.05)


def test_cerrar_sin_pool_no_falla(directa: psycopg.Connection) -> None:
    Conexion.cerrar_conexiones()
    Conexion.cerrar_conexiones()
    assert Conexion.servidor_conectado() is None
    assert Conexion.prestadas_manualmente() == 0
    # y después de cerrar de más, el pool se vuelve a crear normalmente
    with Conexion.obtener_conexion() as conexion:
        assert conexion.execute("SELECT 1").fetchone() == (1,)
    assert Conexion.servidor_conectado() is not None
    assert esperar_hasta(lambda: contar_sesiones_del_pool(directa) == Conexion.MIN_CON, 5.0, pausa=0.05)


def test_los_atributos_de_clase_valen_para_el_siguiente_pool(directa: psycopg.Connection) -> None:
    Conexion.obtener_pool()  # un pool con los valores por defecto...
    Conexion.MIN_CON, Conexion.MAX_CON, Conexion.TIMEOUT = 2, 2, 0.3
    Conexion.cerrar_conexiones()  # ...y el siguiente, con los nuevos
    prestadas = [Conexion.obtener_conexion_manual() for _ in range(2)]
    try:
        # (la sesión del pool anterior tarda unos milisegundos en desaparecer del servidor)
        assert esperar_hasta(lambda: contar_sesiones_del_pool(directa) == 2, 5.0, pausa=0.05)
        inicio = time.monotonic()
        with pytest.raises(PoolTimeout, match=r"after 0\.30 sec"):  # la tercera ya no cabe
            Conexion.obtener_conexion_manual()
        assert time.monotonic() - inicio < 2.0
    finally:
        for conexion in prestadas:
            Conexion.liberar_conexion(conexion)


def test_no_hay_deprecationwarning_al_crear_el_pool(recwarn: pytest.WarningsRecorder) -> None:
    with Conexion.obtener_conexion() as conexion:
        conexion.execute("SELECT 1")
    assert not [w for w in recwarn if issubclass(w.category, DeprecationWarning)]


def test_una_sesion_cortada_se_descarta_al_devolverla(capsys: pytest.CaptureFixture[str]) -> None:
    from capa_datos_persona.laboratorio.fallos import terminar_sesion

    conexion = Conexion.obtener_conexion_manual()
    assert terminar_sesion(conexion.info.backend_pid)
    with pytest.raises(psycopg.OperationalError):
        conexion.execute("SELECT 1")
    Conexion.liberar_conexion(conexion)
    pool = Conexion.obtener_pool()
    assert pool.get_stats()["returns_bad"] == 1
    assert "discarding closed connection" in capsys.readouterr().out
    pool.wait(timeout=5)  # el pool repone la conexión perdida hasta MIN_CON
    with Conexion.obtener_conexion() as nueva:
        assert nueva.execute("SELECT 1").fetchone() == (1,)


@pytest.mark.slow
def test_verificar_sobrevive_a_un_reinicio_del_servidor() -> None:
    from capa_datos_persona import servidor

    if not servidor.elegir_servidor().embebido:
        pytest.skip("solo el servidor embebido se puede reiniciar desde las pruebas")
    Conexion.VERIFICAR = True
    with Conexion.obtener_conexion() as conexion:
        pid_antes = conexion.info.backend_pid
    servidor.reiniciar_embebido()
    with Conexion.obtener_conexion() as conexion:  # check_connection la descarta y abre otra
        assert conexion.execute("SELECT 1").fetchone() == (1,)
        assert conexion.info.backend_pid != pid_antes
