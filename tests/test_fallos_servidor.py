"""Fallos del servidor con el pool abierto: sesiones cortadas y reinicios (``capa_datos_persona.fallos``).

Todas hablan con un PostgreSQL real. Las que reinician el servidor solo corren
con el servidor embebido; las que cortan sesiones valen con cualquiera, porque
solo cortan las del pool de este proceso. No hay límites de tiempo ajustados:
solo cotas que garantiza el propio ``psycopg_pool`` (sus esperas mínimas) o
que dejan mucho margen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest

from capa_datos_persona import (
    Conexion,
    ErrorServidorEmbebido,
    Persona,
    PersonaDAO,
    crear_tabla,
    servidor,
)
from capa_datos_persona.laboratorio import fallos
from capa_datos_persona.laboratorio.diagnostico import conexion_directa, contar_sesiones_del_pool
from capa_datos_persona.laboratorio.ocupacion import RegistradorOcupacion

MENSAJE_CORTE = "terminating connection due to administrator command"
"""El texto en inglés del servidor embebido; un servidor propio puede responder en otro idioma."""


def _es_el_corte(mensaje: str) -> bool:
    """El texto del corte, en el idioma del servidor (el embebido no trae traducciones: inglés)."""
    return mensaje == MENSAJE_CORTE or not servidor.elegir_servidor().embebido


@pytest.fixture
def solo_embebido() -> None:
    if not servidor.elegir_servidor().embebido:
        pytest.skip("solo se reinicia el servidor embebido del curso; un servidor propio no se toca")


@pytest.fixture(params=[pytest.param("reinicio", marks=pytest.mark.slow), "corte"])
def reiniciar(request: pytest.FixtureRequest) -> Callable[[], object]:
    """Las dos formas de dejar rotas las conexiones libres: reiniciar el embebido o cortar las sesiones."""
    if request.param == "reinicio":
        if not servidor.elegir_servidor().embebido:
            pytest.skip("solo se reinicia el servidor embebido del curso; un servidor propio no se toca")
        return servidor.reiniciar_embebido
    return fallos.cortar_sesiones_del_pool


@pytest.fixture
def email_unico(directa: psycopg.Connection) -> Iterator[str]:
    """Un email que solo usa esta prueba; sus filas se borran antes y después."""
    email = "prueba.fallos.servidor@mail.com"
    crear_tabla()  # sin tocar las filas de otras pruebas
    directa.execute("DELETE FROM persona WHERE email = %s", (email,))
    yield email
    with conexion_directa() as propia:
        propia.execute("DELETE FROM persona WHERE email = %s", (email,))


# --- Una sesión cortada mientras está prestada ---------------------------------------


def test_sesion_cortada_se_descubre_en_la_siguiente_consulta(capsys: pytest.CaptureFixture[str]) -> None:
    conexion = Conexion.obtener_conexion_manual()
    pid = conexion.info.backend_pid
    try:
        assert fallos.cortar_sesion_prestada(conexion)
        assert not conexion.closed  # Python todavía no lo sabe
        with pytest.raises(psycopg.errors.AdminShutdown) as info:
            conexion.execute("SELECT 1")
        assert info.value.sqlstate == "57P01" and _es_el_corte(str(info.value))
        assert conexion.closed
    finally:
        Conexion.liberar_conexion(conexion)
    pool = Conexion.obtener_pool()
    assert pool.get_stats()["returns_bad"] == 1
    assert "discarding closed connection" in capsys.readouterr().out
    assert fallos.esperar_pool_completo()
    assert pool.get_stats()["pool_size"] == Conexion.MIN_CON
    with Conexion.obtener_conexion() as nueva:
        assert nueva.info.backend_pid != pid
        assert nueva.execute("SELECT 1").fetchone() == (1,)


def test_la_sesion_cortada_se_captura_como_operationalerror() -> None:
    """Quien captura ``psycopg.OperationalError`` también atrapa el corte real del servidor (SQLSTATE 57P01)."""
    conexion = Conexion.obtener_conexion_manual()
    try:
        assert fallos.cortar_sesion_prestada(conexion)
        with pytest.raises(psycopg.OperationalError) as info:
            conexion.execute("SELECT 1")
    finally:
        Conexion.liberar_conexion(conexion)
    assert info.value.sqlstate == "57P01"
    assert _es_el_corte(str(info.value))


def test_cortar_una_sesion_que_ya_no_existe() -> None:
    conexion = Conexion.obtener_conexion_manual()
    try:
        assert fallos.cortar_sesion_prestada(conexion)
        assert not fallos.cortar_sesion_prestada(conexion)  # la segunda vez ya no hay sesión
    finally:
        Conexion.liberar_conexion(conexion)


def test_experimento_sesion_cortada_con_registro() -> None:
    Conexion.obtener_pool()
    with RegistradorOcupacion() as registro:
        corte = fallos.experimento_sesion_cortada(registro=registro, pausa=0.05)
    assert corte.excepcion == "AdminShutdown"
    assert _es_el_corte(corte.mensaje)
    assert corte.es_operational_error
    assert corte.descartadas == 1
    assert corte.pool_repuesto and corte.sesion_nueva
    eventos = list(registro.eventos["evento"])
    assert eventos.index("obtenida") < eventos.index("sesión cortada") < eventos.index("consulta fallida")
    assert eventos.index("consulta fallida") < eventos.index("devuelta")
    assert eventos.count("obtenida") == eventos.count("devuelta") == 2
    assert Conexion.prestadas_manualmente() == 0


def test_experimento_sesion_cortada_sin_registro() -> None:
    corte = fallos.experimento_sesion_cortada(pausa=0)
    assert (corte.excepcion, corte.descartadas, corte.sesion_nueva) == ("AdminShutdown", 1, True)


def test_cortar_sesiones_del_pool_solo_corta_las_suyas(directa: psycopg.Connection) -> None:
    prestadas = [Conexion.obtener_conexion_manual() for _ in range(3)]
    for conexion in prestadas:
        Conexion.liberar_conexion(conexion)
    assert contar_sesiones_del_pool(directa) == 3
    assert fallos.cortar_sesiones_del_pool() == 3
    assert contar_sesiones_del_pool(directa) == 0
    assert directa.execute("SELECT 1").fetchone() == (1,)  # la conexión de fuera sigue viva
    assert fallos.cortar_sesiones_del_pool() == 0


# --- Conexiones libres rotas (reinicio o corte) ----------------------------------------


def test_sin_verificar_cada_conexion_libre_falla_una_vez(
    reiniciar: Callable[[], object], capsys: pytest.CaptureFixture[str]
) -> None:
    resultado = fallos.reiniciar_con_pool_abierto(verificar=False, ociosas=3, usos=6, reiniciar=reiniciar)
    assert resultado.fallos == 3
    assert [uso.error for uso in resultado.usos] == ["AdminShutdown"] * 3 + [None] * 3
    [(clave, veces)] = resultado.excepciones.items()
    assert veces == 3 and clave.startswith("AdminShutdown: ") and _es_el_corte(clave.removeprefix("AdminShutdown: "))
    assert resultado.primer_exito == 4
    assert resultado.exitos_en_sesion_nueva
    assert resultado.estadisticas["returns_bad"] == 3
    assert capsys.readouterr().out.count("discarding closed connection") == 3
    assert resultado.tiempo_recuperacion is not None
    assert list(resultado.tabla()["resultado"]) == ["AdminShutdown"] * 3 + ["bien"] * 3
    assert Conexion.VERIFICAR is False


def test_con_verificar_ningun_uso_falla(reiniciar: Callable[[], object], capsys: pytest.CaptureFixture[str]) -> None:
    resultado = fallos.reiniciar_con_pool_abierto(verificar=True, ociosas=2, usos=5, reiniciar=reiniciar)
    assert Conexion.VERIFICAR is True
    assert resultado.fallos == 0 and resultado.excepciones == {}
    assert resultado.primer_exito == 1
    assert resultado.exitos_en_sesion_nueva
    assert resultado.estadisticas.get("returns_bad", 0) == 0
    assert resultado.estadisticas["connections_lost"] == 2
    assert "discarding closed connection" not in capsys.readouterr().out
    # Dos comprobaciones fallidas seguidas: psycopg_pool espera al menos 0.9 s (1 s - 10 %) antes de seguir.
    assert resultado.tiempo_recuperacion is not None and resultado.tiempo_recuperacion >= 0.8
    assert resultado.usos[0].segundos >= 0.8


def test_con_verificar_una_sola_conexion_rota_no_espera() -> None:
    resultado = fallos.reiniciar_con_pool_abierto(
        verificar=True, ociosas=1, usos=2, reiniciar=fallos.cortar_sesiones_del_pool
    )
    assert resultado.fallos == 0
    assert resultado.estadisticas["connections_lost"] == 1
    assert resultado.usos[0].segundos < Conexion.TIMEOUT  # ninguna espera entre comprobaciones


@pytest.mark.slow
def test_con_verificar_y_muchas_conexiones_rotas_se_agota_el_timeout() -> None:
    """Esperas de 0, ~1 y ~2 s entre comprobaciones fallidas: con 4 rotas no caben en TIMEOUT = 3 s."""
    assert Conexion.TIMEOUT == 3.0
    resultado = fallos.reiniciar_con_pool_abierto(
        verificar=True, ociosas=4, usos=3, reiniciar=fallos.cortar_sesiones_del_pool
    )
    assert [uso.error for uso in resultado.usos] == ["PoolTimeout", None, None]
    assert resultado.usos[0].mensaje == "couldn't get a connection after 3.00 sec"
    assert resultado.usos[0].segundos >= Conexion.TIMEOUT - 0.1
    assert resultado.exitos_en_sesion_nueva


@pytest.mark.slow
def test_reinicio_conserva_las_filas_confirmadas(solo_embebido: None, email_unico: str) -> None:
    PersonaDAO.insertar(Persona(nombre="Rosa", apellido="Reinicio", email=email_unico))
    resultado = fallos.reiniciar_con_pool_abierto(verificar=False, ociosas=1, usos=2)
    assert resultado.fallos == 1
    assert servidor.embebido_en_marcha()  # el reinicio deja el servidor funcionando
    with Conexion.obtener_conexion() as conexion:
        filas = conexion.execute("SELECT count(*) FROM persona WHERE email = %s", (email_unico,)).fetchone()[0]
    assert filas == 1


def test_no_reinicia_un_servidor_propio(monkeypatch: pytest.MonkeyPatch, directa: psycopg.Connection) -> None:
    """Con un servidor propio se niega antes de tocar nada: ni reinicia el de las pruebas ni crea un pool."""
    arranque = "SELECT pg_postmaster_start_time()"
    antes = directa.execute(arranque).fetchone()[0]
    with monkeypatch.context() as m:
        m.setenv("DATABASE_URL", "postgresql://postgres:s3creto@127.0.0.1:1/test_db")
        with pytest.raises(ErrorServidorEmbebido, match="cortar_sesiones_del_pool") as info:
            fallos.reiniciar_con_pool_abierto(verificar=False)
    assert "s3creto" not in str(info.value)
    assert directa.execute(arranque).fetchone()[0] == antes  # el servidor de las pruebas no se reinició
    assert Conexion.servidor_conectado() is None  # ni siquiera creó un pool


@pytest.mark.parametrize(("ociosas", "usos"), [(0, 1), (99, 1), (1, 0)])
def test_argumentos_invalidos(ociosas: int, usos: int) -> None:
    with pytest.raises(ValueError):
        fallos.reiniciar_con_pool_abierto(
            verificar=False, ociosas=ociosas, usos=usos, reiniciar=fallos.cortar_sesiones_del_pool
        )
