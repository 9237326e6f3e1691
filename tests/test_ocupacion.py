"""El registrador de ocupación y los tres experimentos, contra PostgreSQL real."""

from __future__ import annotations

import threading
import time

import matplotlib
import psycopg
import pytest
from psycopg_pool import PoolTimeout

matplotlib.use("Agg")

from capa_datos_persona import Conexion  # noqa: E402
from capa_datos_persona.laboratorio import experimentos as ex  # noqa: E402
from capa_datos_persona.laboratorio import graficas  # noqa: E402
from capa_datos_persona.laboratorio.diagnostico import APLICACION_OBSERVADOR  # noqa: E402
from capa_datos_persona.laboratorio.esperas import esperar_hasta  # noqa: E402
from capa_datos_persona.laboratorio.ocupacion import COLUMNAS_MUESTRAS, RegistradorOcupacion  # noqa: E402


@pytest.fixture(scope="module")
def tres() -> list[ex.Experimento]:
    """Los tres experimentos (unos 5 s: el agotamiento espera el TIMEOUT); las pruebas que los usan son ``slow``."""
    return ex.los_tres()


@pytest.mark.slow
def test_en_uso_nunca_supera_max_con(tres: list[ex.Experimento]) -> None:
    for exp in tres:
        m = exp.registro.muestras
        assert list(m.columns) == list(COLUMNAS_MUESTRAS)
        assert (m["en_uso"] <= Conexion.MAX_CON).all()
        assert (m["tamano"] <= Conexion.MAX_CON).all()
        assert (m["en_uso"] == m["tamano"] - m["disponibles"]).all()
        assert m["t"].is_monotonic_increasing


@pytest.mark.slow
def test_with_solo_usa_una_conexion_a_la_vez(tres: list[ex.Experimento]) -> None:
    exp = tres[0]
    r = exp.resumen()
    assert r.max_en_uso == 1 and r.max_sesiones_servidor == 1 and r.timeouts == 0
    cuenta = exp.registro.eventos["evento"].value_counts().to_dict()
    assert cuenta == {"obtenida": 6, "devuelta": 6}
    assert exp.registro.eventos["conexion"].nunique() == 1  # siempre la misma conexión


@pytest.mark.slow
def test_manual_sube_a_tres_y_baja(tres: list[ex.Experimento]) -> None:
    exp = tres[1]
    assert exp.resumen().max_en_uso == 3
    assert exp.registro.muestras["en_uso"].iloc[-1] == 0


@pytest.mark.slow
def test_agotamiento_pico_max_con_y_una_peticion_esperando(tres: list[ex.Experimento]) -> None:
    exp = tres[2]
    r = exp.resumen()
    assert r.max_en_uso == Conexion.MAX_CON
    assert r.max_esperando == 1
    assert r.timeouts == 1
    assert exp.errores == [f"PoolTimeout: couldn't get a connection after {Conexion.TIMEOUT:.2f} sec"]
    m = exp.registro.muestras
    # mientras la sexta petición espera, las cinco están prestadas
    esperando = m[m["esperando"] == 1]
    assert (esperando["t"].max() - esperando["t"].min()) >= Conexion.TIMEOUT * 0.8
    assert m["en_uso"].iloc[-1] == 0
    assert r.duracion_s >= Conexion.TIMEOUT


@pytest.mark.slow
def test_el_cliente_y_pg_stat_activity_coinciden(tres: list[ex.Experimento]) -> None:
    for exp in tres:
        m = exp.registro.muestras
        assert m["sesiones_servidor"].notna().all()
        acuerdo = (m["tamano"] == m["sesiones_servidor"]).mean()
        assert acuerdo >= 0.8, f"{exp.nombre}: solo {acuerdo:.0%} de muestras coinciden"
        assert m["tamano"].iloc[-1] == m["sesiones_servidor"].iloc[-1]
        assert m["sesiones_servidor"].max() <= Conexion.MAX_CON


@pytest.mark.slow
def test_muestrea_a_unos_10_ms(tres: list[ex.Experimento]) -> None:
    m = tres[2].registro.muestras
    assert 0.008 <= m["t"].diff().median() <= 0.02


def test_el_registrador_no_usa_el_pool_que_mide() -> None:
    pool = Conexion.obtener_pool()
    antes = pool.get_stats()
    with RegistradorOcupacion(intervalo=0.005) as registro:
        threading.Event().wait(0.1)
    despues = pool.get_stats()
    assert despues.get("requests_num", 0) == antes.get("requests_num", 0)
    assert despues["pool_size"] == antes["pool_size"]
    assert len(registro.muestras) >= 10
    assert registro.eventos.empty


def _sesiones_observadoras(directa: psycopg.Connection) -> int:
    """Sesiones del servidor con el nombre de las conexiones directas del laboratorio, sin contar ``directa``."""
    return directa.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s AND pid <> pg_backend_pid()",
        (APLICACION_OBSERVADOR,),
    ).fetchone()[0]


def test_arranca_y_para_limpiamente(directa: psycopg.Connection) -> None:
    Conexion.obtener_pool()
    registro = RegistradorOcupacion()
    hilos_antes = threading.active_count()
    observadoras_antes = _sesiones_observadoras(directa)
    registro.iniciar()
    assert threading.active_count() == hilos_antes + 1
    assert _sesiones_observadoras(directa) == observadoras_antes + 1  # su conexión propia, fuera del pool
    with Conexion.obtener_conexion():
        pass
    assert list(registro.eventos["evento"]) == ["obtenida", "devuelta"]
    with pytest.raises(RuntimeError, match="ya se inició"):
        registro.iniciar()
    registro.detener()
    registro.detener()  # dos veces no falla
    assert threading.active_count() == hilos_antes
    # ya no se entera de los préstamos...
    with Conexion.obtener_conexion():
        pass
    assert len(registro.eventos) == 2
    # ...y cerró su conexión con el servidor (que tarda unos milisegundos en soltar la sesión)
    assert esperar_hasta(lambda: _sesiones_observadoras(directa) == observadoras_antes, 5.0, pausa=0.05)


def test_intervalo_invalido() -> None:
    with pytest.raises(ValueError, match="intervalo"):
        RegistradorOcupacion(intervalo=0)
    with pytest.raises(ValueError, match="intervalo lento"):
        RegistradorOcupacion(intervalo_lento=0)


# --- Muestras por suceso: el registrador no necesita sondear para ver los préstamos -----------------------------


def test_una_fila_por_suceso_sin_esperar_al_hilo() -> None:
    # Con un intervalo de un minuto el hilo de fondo no llega a mirar: todo sale de los avisos del pool.
    with RegistradorOcupacion(intervalo=60, consultar_servidor=False) as registro:
        for _ in range(3):
            with Conexion.obtener_conexion():
                pass
    filas = registro.filas()
    assert len(filas) == 1 + 6 + 1  # al empezar, una por préstamo y por devolución, al terminar
    assert [f[3] for f in filas] == [0, 1, 0, 1, 0, 1, 0, 0]  # en uso
    assert registro.miradas == 2  # solo la primera y la última
    assert list(registro.eventos["t"]) == [f[0] for f in filas[1:-1]]  # cada evento, con su fila
    m = registro.muestras
    assert len(m) == len(filas) + 1  # y la rejilla: una fila cada minuto (la de t = 0)
    assert m["t"].is_monotonic_increasing


def test_la_rejilla_repite_el_ultimo_estado_cada_intervalo() -> None:
    with RegistradorOcupacion(intervalo=0.01, consultar_servidor=False) as registro:
        conexion = Conexion.obtener_conexion_manual()
        time.sleep(0.3)
        Conexion.liberar_conexion(conexion)
        time.sleep(0.1)
    m = registro.muestras
    assert 0.008 <= m["t"].diff().median() <= 0.012
    prestada = m[(m["t"] > 0.05) & (m["t"] < 0.25)]
    assert len(prestada) >= 15 and (prestada["en_uso"] == 1).all()
    assert m["en_uso"].iloc[-1] == 0
    assert registro.miradas < 10  # nada cambió por su cuenta: el hilo miró cada 0,1 s, no cada 10 ms


def test_en_cola_deja_su_muestra_pero_no_un_evento() -> None:
    Conexion.MAX_CON = 1
    with RegistradorOcupacion(intervalo=60, consultar_servidor=False) as registro:
        retenida = Conexion.obtener_conexion_manual()
        with pytest.raises(PoolTimeout):
            Conexion.obtener_conexion_manual(timeout=0.1)
        Conexion.liberar_conexion(retenida)
    m, e = registro.muestras, registro.eventos
    assert list(e["evento"]) == ["obtenida", "timeout", "devuelta"]  # «en_cola» no es un evento de la tabla...
    assert m["esperando"].max() == 1  # ...pero su muestra ve la petición en cola en el mismo instante
    # La petición caducada sigue en la cola (requests_waiting) hasta la devolución siguiente.
    t_timeout = e.loc[e["evento"] == "timeout", "t"].iloc[0]
    assert m.loc[m["t"] == t_timeout, "esperando"].iloc[0] == 1
    assert m["esperando"].iloc[-1] == 0


def test_consulta_el_servidor_menos_a_menudo_de_lo_que_muestrea() -> None:
    Conexion.obtener_pool()
    with RegistradorOcupacion(intervalo=0.005) as registro:
        time.sleep(0.6)  # nada cambia
    m = registro.muestras
    assert len(m) >= 30
    assert registro.consultas_servidor <= 0.6 / 0.1 + 4  # una cada 0,1 s, más la primera y la última
    assert len(registro.filas()) <= 4  # nada cambió: la rejilla pone el resto
    assert m["sesiones_servidor"].notna().all()  # cada muestra lleva la última cifra leída


def test_un_evento_propio_acerca_las_consultas_al_servidor() -> None:
    Conexion.obtener_pool()
    with RegistradorOcupacion(intervalo=0.01) as registro:
        time.sleep(0.3)
        antes = registro.consultas_servidor
        registro.evento("algo")
        time.sleep(0.3)
        durante = registro.consultas_servidor - antes
    assert antes <= 6
    assert durante >= 10  # en la ventana rápida, una consulta en cada muestra (cada 10 ms)


def test_anotar_sesiones_de_otro() -> None:
    with RegistradorOcupacion(intervalo=60, consultar_servidor=False) as registro:
        registro.anotar_sesiones(3)
        with Conexion.obtener_conexion():
            pass
    filas = registro.filas()
    assert [f[5] for f in filas] == [None, 3, 3, 3]  # sin cifra al empezar; luego, la que se anotó


@pytest.mark.slow
def test_graficas_en_espanol(tres: list[ex.Experimento]) -> None:
    fig = graficas.grafica_ocupacion(tres[2].registro, titulo="Agotamiento")
    ax = fig.axes[0]
    assert ax.get_title() == "Agotamiento"
    assert ax.get_xlabel() == "tiempo (s)" and ax.get_ylabel() == "conexiones"
    etiquetas = ax.get_legend_handles_labels()[1]
    for texto in ("en uso (prestadas)", "peticiones esperando", "límite MAX_CON = 5", "evento: PoolTimeout"):
        assert texto in etiquetas
    comparacion = graficas.comparar_experimentos(tres)
    assert [a.get_title() for a in comparacion.axes] == [e.nombre for e in tres]
    import matplotlib.pyplot as plt

    plt.close("all")
