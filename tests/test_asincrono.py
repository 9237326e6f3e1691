"""El laboratorio del cuaderno 11 (hilos frente a corrutinas, trampas del pool asíncrono), contra PostgreSQL real."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import matplotlib
import pytest

from capa_datos_persona import Conexion, ConexionAsincrona
from capa_datos_persona.laboratorio import asincrono
from capa_datos_persona.laboratorio.diagnostico import contar_sesiones_del_pool
from capa_datos_persona.laboratorio.esperas import esperar_hasta
from capa_datos_persona.laboratorio.ejercicios import cuaderno_11

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def pool_asincrono_limpio() -> Iterator[None]:
    """Ninguna prueba deja abierto el pool de ``ConexionAsincrona`` (si quedó, se cierra en un bucle propio)."""
    yield
    if ConexionAsincrona._pool is not None:
        pool, ConexionAsincrona._pool, ConexionAsincrona._bucle = ConexionAsincrona._pool, None, None
        try:
            asyncio.run(pool.close())
        except Exception:
            pass


def test_lo_ideal() -> None:
    assert asincrono.techo(5, 0.02) == pytest.approx(250)
    assert asincrono.duracion_ideal(50, 5, 0.02) == pytest.approx(0.2)
    assert asincrono.duracion_ideal(51, 5, 0.02) == pytest.approx(0.22)  # una tanda más, aunque sea de una
    assert asincrono.espera_ideal(50, 5, 0.02) == pytest.approx(0.09)  # 4,5 tandas de media
    assert asincrono.espera_ideal(5, 5, 0.02) == 0


@pytest.mark.parametrize("peticiones, tamano", [(0, 5), (5, 0)])
def test_parametros_imposibles(peticiones: int, tamano: int) -> None:
    with pytest.raises(ValueError, match="al menos 1"):
        asincrono.medir_hilos(peticiones, tamano)
    with pytest.raises(ValueError, match="al menos 1"):
        asyncio.run(asincrono.medir_corrutinas(peticiones, tamano))


def test_la_misma_carga_con_hilos_y_con_corrutinas() -> None:
    hilos = asincrono.medir_hilos(12, tamano=3, argumento=0.02)
    corrutinas = asyncio.run(asincrono.medir_corrutinas(12, tamano=3, argumento=0.02))
    for medida, modo in ((hilos, "hilos"), (corrutinas, "corrutinas")):
        assert medida.modo == modo
        assert (medida.completadas, medida.errores) == (12, ())
        assert medida.duracion >= asincrono.duracion_ideal(12, 3, 0.02)  # 4 tandas de 20 ms, como poco
        assert medida.rendimiento <= asincrono.techo(3, 0.02) * 1.01
        assert medida.espera_media > 0  # con 12 peticiones y 3 conexiones, alguien espera
        assert medida.memoria >= 0
        assert asincrono.ultima_medida(modo, 12, 3, 0.02) is medida
    # Los dos pools se cerraron: ninguna sesión suya sigue en el servidor.
    assert asincrono.sesiones_asincronas(espera=3) == 0
    assert esperar_hasta(lambda: contar_sesiones_del_pool() == 0, 5.0, pausa=0.05)


def test_una_peticion_que_falla_se_anota() -> None:
    medida = asincrono.medir_hilos(3, tamano=1, argumento=0.5, timeout=0.2)
    assert medida.completadas == 1 and len(medida.errores) == 2
    assert "PoolTimeout" in medida.errores[0]
    medida = asyncio.run(asincrono.medir_corrutinas(3, tamano=1, argumento=0.5, timeout=0.2))
    assert medida.completadas == 1 and len(medida.errores) == 2


@pytest.mark.slow
def test_en_proceso_nuevo_comparar_barrido_y_grafica() -> None:
    medida = asincrono.medir_en_proceso_nuevo("corrutinas", 10, 2, 0.01)
    assert (medida.modo, medida.completadas, medida.errores) == ("corrutinas", 10, ())
    assert medida.memoria > 0  # un proceso nuevo sí pide memoria al sistema
    assert asincrono.ultima_medida("corrutinas", 10, 2, 0.01) is medida
    with pytest.raises(ValueError, match="modo"):
        asincrono.medir_en_proceso_nuevo("procesos")

    tabla = asyncio.run(asincrono.barrido((6, 12), tamano=2, argumento=0.01))
    assert list(tabla["modo"]) == ["hilos", "corrutinas", "hilos", "corrutinas"]
    assert list(tabla["peticiones"]) == [6, 6, 12, 12]
    assert tabla["errores"].sum() == 0
    assert set(tabla.columns) >= {"duracion_s", "rendimiento", "espera_media_ms", "memoria_kib_por_peticion"}
    figura = asincrono.grafica_hilos_corrutinas(tabla, tamano=2, argumento=0.01)
    assert len(figura.axes) == 3
    matplotlib.pyplot.close(figura)


def test_memoria_python_de_los_dos_modos() -> None:
    por_peticion = asyncio.run(asincrono.memoria_python(20, tamano=2, argumento=0.005))
    assert set(por_peticion) == {"hilos", "corrutinas"}
    assert all(valor > 0 for valor in por_peticion.values())


def test_en_otro_hilo_espera_un_plazo_y_entrega_el_resultado() -> None:
    rapido = asincrono.en_otro_hilo(lambda: 42, plazo=2)
    assert rapido.terminado and rapido.resultado() == 42

    inicio = time.perf_counter()
    lento = asincrono.en_otro_hilo(lambda: time.sleep(0.6) or "ya", plazo=0.1)
    assert time.perf_counter() - inicio < 0.5
    assert not lento.terminado
    with pytest.raises(TimeoutError, match="todavía no"):
        lento.resultado()
    assert lento.esperar(3) and lento.resultado() == "ya" and lento.segundos >= 0.6

    def fallar() -> None:
        raise KeyError("sin esto")

    with pytest.raises(KeyError, match="sin esto"):
        asincrono.en_otro_hilo(fallar).resultado()


def test_diez_a_la_vez_ve_el_bucle_bloqueado() -> None:
    async def bloqueante(segundos: float) -> None:
        time.sleep(segundos)

    async def cortes(segundos: float) -> None:
        await asyncio.sleep(segundos)

    def no_es_corrutina(segundos: float) -> None:
        pass

    bloqueada = asyncio.run(asincrono.diez_a_la_vez(bloqueante, segundos=0.02))
    libre = asyncio.run(asincrono.diez_a_la_vez(cortes, segundos=0.02))
    assert bloqueada.duracion >= 0.2 and bloqueada.retraso_maximo >= 0.1
    assert libre.duracion < 0.15
    sin_async = asyncio.run(asincrono.diez_a_la_vez(no_es_corrutina))  # type: ignore[arg-type]
    assert sin_async.problema and "async def" in sin_async.problema
    for prueba in (bloqueada, libre, sin_async):
        assert asincrono.prueba_registrada(prueba)
    assert not asincrono.prueba_registrada(asincrono.PruebaConcurrencia(10, 0.02, 0.1, 0.0))


def test_la_comprobacion_11_4_distingue_bloquear_de_no_bloquear() -> None:
    async def con_el_pool_de_hilos(segundos: float) -> None:
        with Conexion.obtener_conexion() as conexion:
            conexion.execute("SELECT pg_sleep(%s)", (segundos,))

    async def con_el_pool_asincrono(segundos: float) -> None:
        async with ConexionAsincrona.obtener_conexion() as conexion:
            await conexion.execute("SELECT pg_sleep(%s)", (segundos,))

    retenidas: list = []

    async def olvida_una(segundos: float) -> None:
        if not retenidas:  # la primera llamada se queda una conexión y no la devuelve
            retenidas.append(None)  # antes del await: las demás llamadas ya ven que hay una
            retenidas[0] = await ConexionAsincrona.obtener_conexion_manual()
        async with ConexionAsincrona.obtener_conexion() as conexion:
            await conexion.execute("SELECT pg_sleep(%s)", (segundos,))

    async def probar(funcion):  # type: ignore[no-untyped-def]
        try:
            return cuaderno_11._probar_sin_bloqueo(await asincrono.diez_a_la_vez(funcion))
        finally:
            for conexion in retenidas:
                await ConexionAsincrona.liberar_conexion(conexion)
            retenidas.clear()
            await ConexionAsincrona.cerrar_conexiones()

    assert "bloquea" in asyncio.run(probar(con_el_pool_de_hilos))
    assert asyncio.run(probar(con_el_pool_asincrono)) is None
    assert "quedaron 1 conexiones prestadas" in asyncio.run(probar(olvida_una))
    assert "diez_a_la_vez" in cuaderno_11._probar_sin_bloqueo("no es una prueba")


def test_la_comprobacion_11_2_compara_con_lo_medido() -> None:
    asyncio.run(asincrono.medir_corrutinas(50, 5, 0.02))
    medida_ms = 1000 * asincrono.ultima_medida("corrutinas", 50, 5, 0.02).duracion
    assert cuaderno_11._probar_duracion(50 / 5 * 20) is None or medida_ms > 330  # lo ideal, salvo máquina muy cargada
    assert cuaderno_11._probar_duracion(medida_ms) is None
    assert "async" in cuaderno_11._probar_duracion(20)
    assert "una" in cuaderno_11._probar_duracion(50 * 20 * 3)
    assert "número" in cuaderno_11._probar_duracion("200 ms")


def test_sesiones_del_pool_asincrono() -> None:
    async def abrir_contar_cerrar() -> tuple[int, int]:
        await ConexionAsincrona.obtener_pool()
        abiertas = await asyncio.to_thread(asincrono.sesiones_asincronas)
        await ConexionAsincrona.cerrar_conexiones()
        return abiertas, await asyncio.to_thread(asincrono.sesiones_asincronas, 3.0)

    assert asyncio.run(abrir_contar_cerrar()) == (ConexionAsincrona.MIN_CON, 0)
    assert asincrono.sesiones_asincronas(aplicacion="nadie_se_llama_asi") == 0
