"""La aplicación del cuaderno 12 y sus tres fallos sembrados, contra PostgreSQL real.

Los fallos (el cuaderno no los dice; aquí sí, para quien mantiene el curso):

1. ``ver_persona`` pide la conexión con ``getconn()`` y, si la persona no
   existe, sale con ``raise`` sin devolverla: la conexión se pierde, el pool la
   sigue contando en uso y, tras ``TAMANO_POOL`` respuestas «no existe», se
   agota (``PoolTimeout``).
2. ``contar_personas`` hace ``SET statement_timeout = '50ms'`` (de sesión, no
   ``SET LOCAL``): el plazo viaja con la conexión y las exportaciones (0,2 s)
   que la reciben fallan con ``QueryCanceled``.
3. ``desplegar(3, 3, limite=6)``: tres procesos con pools de 3 contra un rol con
   ``CONNECTION LIMIT 6``; el tercero no arranca (53300).

Las cuentas que imprime el cuaderno tienen que salir iguales en cada ejecución
(nbval estricto): estas pruebas las fijan.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import psycopg
import pytest
from psycopg import sql

from capa_datos_persona import Conexion
from capa_datos_persona.laboratorio import aplicacion, fugas
from capa_datos_persona.laboratorio.diagnostico import contar_sesiones_del_pool
from capa_datos_persona.laboratorio.ejercicios import CORRECTO, comprobar
from capa_datos_persona.laboratorio.esperas import esperar_hasta
from capa_datos_persona.servidor import usar_servidor

pytestmark = pytest.mark.usefixtures("tabla")


def ver_con_with(id_persona: int) -> str:
    with Conexion.obtener_conexion() as conexion:
        fila = conexion.execute("SELECT nombre, apellido FROM persona WHERE id_persona = %s", (id_persona,)).fetchone()
    if fila is None:
        raise aplicacion.PersonaNoEncontrada(f"no existe {id_persona}")
    return f"{fila[0]} {fila[1]}"


def ver_copiada_sin_corregir(id_persona: int) -> str:
    conexion = Conexion.obtener_conexion_manual()
    fila = conexion.execute("SELECT nombre, apellido FROM persona WHERE id_persona = %s", (id_persona,)).fetchone()
    if fila is None:
        raise aplicacion.PersonaNoEncontrada(f"no existe {id_persona}")
    Conexion.liberar_conexion(conexion)
    return f"{fila[0]} {fila[1]}"


def informe_con_set_local() -> int:
    with Conexion.obtener_conexion() as conexion:
        conexion.execute("SET LOCAL statement_timeout = '50ms'")
        return conexion.execute("SELECT count(*) FROM persona").fetchone()[0]


def informe_con_set() -> int:
    with Conexion.obtener_conexion() as conexion:
        conexion.execute("SET statement_timeout = '50ms'")
        return conexion.execute("SELECT count(*) FROM persona").fetchone()[0]


def informe_sin_plazo() -> int:
    with Conexion.obtener_conexion() as conexion:
        return conexion.execute("SELECT count(*) FROM persona").fetchone()[0]


# --- La aplicación sana ------------------------------------------------------------------------


def test_pool_nuevo_empieza_lleno_y_sin_ajustes_de_sesion() -> None:
    pool = aplicacion.pool_nuevo()
    estadisticas = pool.get_stats()
    assert estadisticas["pool_size"] == estadisticas["pool_available"] == aplicacion.TAMANO_POOL
    assert Conexion.TIMEOUT == aplicacion.PLAZO
    # El diagnóstico no da falsos positivos: application_name y demás llegan del cliente, no de un SET.
    assert aplicacion.ajustes_de_sesion() == [{}] * aplicacion.TAMANO_POOL


def test_manejadores_responden() -> None:
    aplicacion.pool_nuevo()
    assert aplicacion.ver_persona(1) == "Juan Pérez"
    assert aplicacion.exportar_personas() == 3
    assert aplicacion.contar_personas() == 3


def test_resultados_en_el_orden_de_las_peticiones() -> None:
    """Aunque terminen en otro orden (la exportación tarda 0,2 s), se devuelven en el de las peticiones."""
    aplicacion.pool_nuevo()
    P = aplicacion.Peticion
    resultados = aplicacion.atender([("a", [P("exportar"), P("ver", (1,)), P("ver", (99,))]), ("b", [P("ver", (2,))])])
    assert [(r.tanda, r.tipo, r.estado) for r in resultados] == [
        ("a", "exportar", "bien"),
        ("a", "ver", "bien"),
        ("a", "ver", "no existe"),
        ("b", "ver", "bien"),
    ]


def test_codigo_muestra_el_manejador_sin_decorador() -> None:
    texto = aplicacion.codigo("ver")
    assert texto.startswith("def ver_persona(")
    assert "@" not in texto.splitlines()[0]
    linea = aplicacion.linea_del_prestamo("ver")
    archivo = Path(aplicacion.__file__).read_text(encoding="utf-8").splitlines()
    assert "obtener_conexion_manual()" in archivo[linea - 1]  # type: ignore[operator]
    assert aplicacion.linea_del_prestamo("informe") is None


# --- Fallo 1: la conexión perdida en el camino del error ---------------------------------------


@pytest.mark.slow
def test_jornada_con_errores_agota_el_pool_a_las_14() -> None:
    jornada = aplicacion.jornada_con_errores()
    por_hora = {}
    for r in jornada.resultados:
        por_hora.setdefault(r.tanda, []).append(r.estado)
    for hora in ("09:00", "10:00", "11:00", "12:00", "13:00"):
        assert por_hora[hora].count("bien") == 12 and por_hora[hora].count("no existe") == 1
    assert por_hora["14:00"] == ["error"] * 13
    assert jornada.errores() == {"PoolTimeout": 13}
    assert jornada.ejemplos() == "PoolTimeout: couldn't get a connection after 0.50 sec"
    assert (jornada.abiertas, jornada.en_uso) == (aplicacion.TAMANO_POOL, aplicacion.TAMANO_POOL)
    # El pool cree que las 5 están en uso; el servidor no ve ninguna sesión: se perdieron.
    assert esperar_hasta(lambda: contar_sesiones_del_pool() == 0, 5.0, pausa=0.05)
    assert Conexion.prestadas_manualmente() == 0
    assert aplicacion.ultima("errores") is jornada
    assert "14:00              13     0          0        13  PoolTimeout ×13" in jornada.por_tanda()


def test_el_detector_senala_la_linea_del_prestamo(capsys: pytest.CaptureFixture[str]) -> None:
    detector = fugas.activar_detector(umbral=0.5)
    try:
        jornada = aplicacion.jornada_con_errores(horas=1)
        informe = detector.informe()
    finally:
        fugas.desactivar_detector()
    assert jornada.no_existe == 1 and jornada.en_uso == 1
    lugar = f"aplicacion.py:{aplicacion.linea_del_prestamo('ver')}"
    assert list(informe["estado"]) == ["perdida"]
    assert list(informe["lugar"]) == [lugar]
    assert f"Conexión perdida: la pedida en {lugar}" in capsys.readouterr().out


def test_ver_persona_con_with_no_pierde_nada() -> None:
    jornada = aplicacion.jornada_con_errores(manejadores={"ver": ver_con_with})
    assert (jornada.bien, jornada.no_existe, jornada.fallidas, jornada.en_uso) == (72, 6, 0, 0)
    assert aplicacion.ultima("errores") is not jornada  # solo se recuerda la de los manejadores originales


# --- Fallo 2: el SET que viaja con la conexión -------------------------------------------------


def test_jornada_con_informes_deja_el_plazo_en_las_cinco_sesiones() -> None:
    jornada = aplicacion.jornada_con_informes()
    assert (jornada.cuenta("bien", "informe"), jornada.cuenta("bien", "ver")) == (5, 8)
    assert jornada.errores("exportar") == {"QueryCanceled": 6}
    assert jornada.ejemplos().startswith("QueryCanceled (SQLSTATE 57014): ")  # el resto, en el idioma del servidor
    assert aplicacion.ajustes_de_sesion() == [{"statement_timeout": "50ms"}] * aplicacion.TAMANO_POOL
    assert aplicacion.resumen_ajustes([{"statement_timeout": "50ms"}, {}]) == (
        "conexión 1: statement_timeout = 50ms\nconexión 2: nada cambiado"
    )


def test_set_local_no_deja_nada() -> None:
    jornada = aplicacion.jornada_con_informes(manejadores={"informe": informe_con_set_local})
    assert jornada.fallidas == 0 and jornada.cuenta("bien", "exportar") == 6
    assert aplicacion.ajustes_de_sesion() == [{}] * aplicacion.TAMANO_POOL


def test_con_un_solo_hilo_falla_solo_la_quinta_exportacion() -> None:
    """El pool presta la conexión libre más antigua (cola FIFO): la del informe vuelve 5 préstamos después."""
    orden = aplicacion.informe_y_exportaciones()
    assert orden.antes == "bien"
    assert orden.despues == ["bien"] * 4 + ["QueryCanceled"]
    assert orden.fallidas == 1
    assert "fallaron 1 de 5 exportaciones después del informe" in str(orden)


# --- Fallo 3: más sesiones que las que admite el rol --------------------------------------------


def _procesos_hijos() -> int:
    return len(psutil.Process().children(recursive=True))


@pytest.mark.slow
def test_desplegar_tres_pools_de_tres_contra_un_limite_de_seis() -> None:
    hijos_antes = _procesos_hijos()
    despliegue = aplicacion.desplegar(procesos=3, max_size=3, limite=6)
    assert [p.listo for p in despliegue.procesos] == [True, True, False]
    tercero = despliegue.procesos[2]
    assert tercero.error == "PoolTimeout: pool initialization incomplete after 1.5 sec"
    assert tercero.servidor.startswith("FATAL:") and despliegue.rol in tercero.servidor  # texto en el idioma del servidor
    assert despliegue.sesiones == {"capa_app:proceso_1": 3, "capa_app:proceso_2": 3}
    assert "procesos listos: 2 de 3" in str(despliegue)
    assert aplicacion.ultima("despliegue") is despliegue
    assert aplicacion.roles_sobrantes() == 0
    assert _procesos_hijos() == hijos_antes


@pytest.mark.slow
def test_desplegar_con_el_tamano_que_cabe() -> None:
    despliegue = aplicacion.desplegar(procesos=3, max_size=2, limite=6)
    assert despliegue.listos == 3 and sum(despliegue.sesiones.values()) == 6
    con_otra = aplicacion.desplegar(procesos=3, max_size=1, limite=6, otras=1)
    assert con_otra.listos == 3
    assert con_otra.sesiones == {"capa_app:otra_1": 1, "capa_app:proceso_1": 1, "capa_app:proceso_2": 1, "capa_app:proceso_3": 1}
    assert aplicacion.roles_sobrantes() == 0


def test_sin_permiso_para_crear_roles_lo_dice_en_espanol(
    monkeypatch: pytest.MonkeyPatch, directa: psycopg.Connection
) -> None:
    """Con un usuario sin CREATEROLE, desplegar() no falla: devuelve el motivo, y la celda lo imprime."""
    sin_permiso = "capa_prueba_sin_createrole"
    directa.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(sin_permiso)))
    directa.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'x'").format(sql.Identifier(sin_permiso)))

    @contextmanager
    def como_sin_permiso() -> Iterator[psycopg.Connection]:
        from psycopg.conninfo import make_conninfo

        with psycopg.connect(make_conninfo(usar_servidor().conninfo, user=sin_permiso, password="x"), autocommit=True) as c:
            yield c

    monkeypatch.setattr(aplicacion, "conexion_directa", como_sin_permiso)
    try:
        despliegue = aplicacion.desplegar()
    finally:
        directa.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(sin_permiso)))
    assert despliegue.saltado.startswith("Tu usuario de PostgreSQL no puede crear roles")
    assert str(despliegue) == despliegue.saltado and despliegue.procesos == []


# --- Las comprobaciones del cuaderno no se pasan sin la corrección ------------------------------


def _comprobar(ident: str, respuesta: object, capsys: pytest.CaptureFixture[str]) -> str:
    comprobar(ident, respuesta)
    return capsys.readouterr().out


@pytest.mark.slow
def test_12_2_sin_corregir_no_pasa_y_corregida_si(capsys: pytest.CaptureFixture[str]) -> None:
    assert "PoolTimeout" in _comprobar("12.2", ver_copiada_sin_corregir, capsys)
    salida = _comprobar("12.2", ver_con_with, capsys)
    assert CORRECTO in salida
    assert "Con tu ver_persona:                 72 bien, 6 «no existe», 0 fallidas" in salida


@pytest.mark.slow
def test_12_4_hace_falta_el_plazo_y_que_no_viaje(capsys: pytest.CaptureFixture[str]) -> None:
    assert "El plazo sigue quedándose en la sesión" in _comprobar("12.4", informe_con_set, capsys)
    assert "ya no tiene su plazo" in _comprobar("12.4", informe_sin_plazo, capsys)
    salida = _comprobar("12.4", informe_con_set_local, capsys)
    assert CORRECTO in salida and "exportaciones 6 bien y 0 fallidas" in salida


@pytest.mark.slow
def test_12_5_cuenta_las_otras_sesiones(capsys: pytest.CaptureFixture[str]) -> None:
    assert "pasa de 6" in _comprobar("12.5", lambda limite, procesos, otras=0: limite // procesos, capsys)
    assert "cabe más" in _comprobar("12.5", lambda limite, procesos, otras=0: 1, capsys)
    salida = _comprobar("12.5", lambda limite, procesos, otras=0: (limite - otras) // procesos, capsys)
    assert CORRECTO in salida and "arrancaron 3 de 3" in salida
    assert aplicacion.roles_sobrantes() == 0


def test_12_1_y_12_3_comparan_con_lo_medido(capsys: pytest.CaptureFixture[str]) -> None:
    assert CORRECTO in _comprobar("12.1", aplicacion.linea_del_prestamo("ver"), capsys)
    assert CORRECTO not in _comprobar("12.1", "101", capsys)
    aplicacion.informe_y_exportaciones()
    assert CORRECTO in _comprobar("12.3", 1, capsys)
    assert "fallaron 1" in _comprobar("12.3", 5, capsys)
