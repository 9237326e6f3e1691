"""Ejercicios del cuaderno 12 (diagnóstico final: la aplicación que se porta mal).

Las comprobaciones de las correcciones ejecutan la función del alumno dentro de
la aplicación (:mod:`..aplicacion`) contra el servidor de verdad y, si todo va
bien, muestran los números de antes (los medidos en el cuaderno con el código
original) y los de después (con la corrección).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from . import registrar


def _coma(numero: float, decimales: int = 0) -> str:
    return f"{numero:.{decimales}f}".replace(".", ",")


@contextmanager
def _configuracion_intacta() -> Iterator[None]:
    """Deja ``MIN_CON``, ``MAX_CON`` y ``TIMEOUT`` como estaban, y el pool cerrado, salga como salga."""
    from ...conexion import Conexion

    antes = (Conexion.MIN_CON, Conexion.MAX_CON, Conexion.TIMEOUT)
    try:
        yield
    finally:
        Conexion.cerrar_conexiones()
        Conexion.MIN_CON, Conexion.MAX_CON, Conexion.TIMEOUT = antes


def _es_funcion(valor: Any, nombre: str, firma: str) -> str | None:
    if not callable(valor):
        return f"`{nombre}` debe ser una función: escríbela con `def {nombre}({firma}):`."
    return None


# --- 12.1: dónde se pidió la conexión que se pierde ----------------------------------------


def _probar_linea(respuesta: Any) -> str | None:
    from .. import aplicacion

    if isinstance(respuesta, bool) or not isinstance(respuesta, int):
        return "escribe solo el número de línea, un entero (sin comillas): el N de «aplicacion.py:N»."
    if respuesta != aplicacion.linea_del_prestamo("ver"):
        return (
            "ese no es el número que da el detector. Busca en su aviso o en detector.informe() "
            "el texto «aplicacion.py:N» de la conexión perdida."
        )
    return None


registrar(
    "12.1",
    pista="enciende el detector, ejecuta una hora de la jornada y lee la columna `lugar` de detector.informe().",
    probar=_probar_linea,
    explicacion="El detector anota dónde se pidió la conexión, no dónde se perdió.",
)


# --- 12.2: ver_persona sin perder conexiones ------------------------------------------------


def _nombres_esperados() -> dict[int, str]:
    from ..diagnostico import conexion_directa

    with conexion_directa() as propia:
        filas = propia.execute("SELECT id_persona, nombre, apellido FROM persona WHERE id_persona IN (1, 2, 3)").fetchall()
    return {ident: f"{nombre} {apellido}" for ident, nombre, apellido in filas}


def _resumen_errores(jornada: Any) -> str:
    texto = f"{jornada.bien} bien, {jornada.no_existe} «no existe», {jornada.fallidas} fallidas"
    errores = jornada.errores()
    if errores:
        texto += " (" + ", ".join(f"{error} ×{n}" for error, n in errores.items()) + ")"
    return texto


def _probar_ver_persona(funcion: Any) -> str | None:
    from psycopg_pool import PoolTimeout

    from .. import aplicacion

    if (fallo := _es_funcion(funcion, "ver_persona", "id_persona")) is not None:
        return fallo
    if funcion is aplicacion.ver_persona:
        return "esa es la ver_persona original de la aplicación: escribe la tuya en la celda del ejercicio."
    with _configuracion_intacta():
        antes = aplicacion.ultima("errores") or aplicacion.jornada_con_errores()
        aplicacion.pool_nuevo()
        esperados = _nombres_esperados()
        if len(esperados) < 3:
            return "faltan personas con id_persona 1, 2 y 3 en la tabla: ejecuta reiniciar_tabla() y vuelve a comprobar."
        for ident, nombre in esperados.items():
            obtenido = funcion(ident)
            if obtenido != nombre:
                return f"ver_persona({ident}) devolvió {obtenido!r}; la original devuelve {nombre!r}."
        for _ in range(aplicacion.TAMANO_POOL + 1):
            try:
                obtenido = funcion(aplicacion.PERSONA_INEXISTENTE)
            except aplicacion.PersonaNoEncontrada:
                continue
            except PoolTimeout:
                return (
                    "tras unas pocas personas que no existen, PoolTimeout: cada una sigue llevándose una conexión. "
                    "Usa `with Conexion.obtener_conexion()` o devuelve la conexión en un `finally`."
                )
            return (
                f"ver_persona({aplicacion.PERSONA_INEXISTENTE}) devolvió {obtenido!r}: debe lanzar "
                "aplicacion.PersonaNoEncontrada, como la original (es la respuesta «no existe» de la aplicación)."
            )
        despues = aplicacion.jornada_con_errores(manejadores={"ver": funcion})
        if despues.fallidas or despues.en_uso:
            return (
                f"en la jornada completa con tu función: {_resumen_errores(despues)}; al final quedaron "
                f"{despues.en_uso} conexiones en uso. Alguna salida de tu función no devuelve la conexión."
            )
    print(f"Antes, con la ver_persona original: {_resumen_errores(antes)}; {antes.pool()[len('pool al terminar: '):]}")
    print(f"Con tu ver_persona:                 {_resumen_errores(despues)}; {despues.pool()[len('pool al terminar: '):]}")
    print(
        f"p95 (el 95 % de las peticiones tardó esto o menos): antes ≈ {_coma(1000 * antes.percentil())} ms, "
        f"con tu función ≈ {_coma(1000 * despues.percentil())} ms"
    )
    return None


registrar(
    "12.2",
    pista="la conexión tiene que volver al pool salga como salga la función, también cuando lanza PersonaNoEncontrada.",
    probar=_probar_ver_persona,
    explicacion="Ninguna salida de ver_persona se queda con la conexión: la jornada entera termina con 0 en uso.",
)


# --- 12.3: predice cuántas exportaciones fallan --------------------------------------------


def _probar_prediccion_orden(prediccion: Any) -> str | None:
    from .. import aplicacion

    if isinstance(prediccion, bool) or not isinstance(prediccion, int):
        return "escribe un número entero de exportaciones, de 0 a 5."
    medido = aplicacion.ultima("orden")
    if medido is None:
        return "primero ejecuta la celda del experimento (aplicacion.informe_y_exportaciones()) y vuelve a comprobar."
    if prediccion != medido.fallidas:
        return (
            f"predijiste {prediccion} y fallaron {medido.fallidas}. ¿Qué conexión recibió el SET del informe, "
            "y cuándo se la vuelve a prestar el pool a una exportación, si presta siempre la que lleva más tiempo libre?"
        )
    return None


registrar(
    "12.3",
    pista="el SET se queda en UNA sesión: la del informe. Mira qué exportación recibió esa conexión.",
    probar=_probar_prediccion_orden,
    explicacion="Solo falla la exportación a la que el pool presta la conexión del informe.",
)


# --- 12.4: el informe con su plazo, sin dejárselo a nadie ----------------------------------


def _cuenta_real() -> int:
    from ..diagnostico import conexion_directa

    with conexion_directa() as propia:
        return propia.execute("SELECT count(*) FROM persona").fetchone()[0]


def _informe_con_tabla_bloqueada(funcion: Callable[[], Any], espera: float = 2.0) -> tuple[bool, str | None]:
    """Llama a ``funcion`` con la tabla ``persona`` bloqueada por otra sesión.

    Devuelve ``(se_quedo_esperando, excepcion)``: si pasados ``espera``
    segundos seguía esperando el bloqueo, o el nombre de la excepción que lanzó.
    """
    from ..diagnostico import conexion_directa

    resultado: dict[str, str | None] = {"error": None}

    def llamar() -> None:
        try:
            funcion()
        except Exception as exc:  # se anota: es lo que se comprueba
            resultado["error"] = type(exc).__name__

    with conexion_directa() as bloqueo:
        with bloqueo.transaction():
            bloqueo.execute("LOCK TABLE persona IN ACCESS EXCLUSIVE MODE")
            hebra = threading.Thread(target=llamar, name="informe-bloqueado", daemon=True)
            hebra.start()
            hebra.join(espera)
            esperando = hebra.is_alive()
        hebra.join(10)  # al soltar el bloqueo, termina
    return esperando, resultado["error"]


def _por_tipo(jornada: Any, tipo: str) -> str:
    return f"{jornada.cuenta('bien', tipo)} bien y {jornada.cuenta('error', tipo)} fallidas"


def _probar_contar_personas(funcion: Any) -> str | None:
    from .. import aplicacion

    if (fallo := _es_funcion(funcion, "contar_personas", "")) is not None:
        return fallo
    if funcion is aplicacion.contar_personas:
        return "esa es la contar_personas original de la aplicación: escribe la tuya en la celda del ejercicio."
    with _configuracion_intacta():
        antes = aplicacion.ultima("informes") or aplicacion.jornada_con_informes()
        aplicacion.pool_nuevo()
        esperada = _cuenta_real()
        obtenida = funcion()
        if obtenida != esperada:
            return f"contar_personas() devolvió {obtenida!r}; la tabla tiene {esperada} personas."
        despues = aplicacion.jornada_con_informes(manejadores={"informe": funcion})
        sucias = sum(bool(ajustes) for ajustes in aplicacion.ajustes_de_sesion())
        if despues.cuenta("error", "exportar") or sucias:
            return (
                f"con tu informe, las exportaciones: {_por_tipo(despues, 'exportar')}; conexiones del pool con un "
                f"ajuste de sesión cambiado: {sucias} de {aplicacion.TAMANO_POOL}. El plazo sigue quedándose en la sesión."
            )
        if despues.cuenta("error", "informe"):
            return f"con tu informe fallaron {despues.cuenta('error', 'informe')} informes: {dict(despues.errores('informe'))}."
        aplicacion.pool_nuevo()
        esperando, error = _informe_con_tabla_bloqueada(funcion)
        if esperando or error != "QueryCanceled":
            como = "se quedó esperando más de 2 s" if esperando else f"terminó con {error or 'un resultado'}"
            return (
                f"con la tabla bloqueada por otra sesión, tu informe {como}: ya no tiene su plazo de 50 ms. "
                "El informe debe seguir protegido; solo que el plazo no sobreviva a su transacción."
            )
    print(f"Antes, con el informe original: exportaciones {_por_tipo(antes, 'exportar')}")
    print(f"Con tu informe:                 exportaciones {_por_tipo(despues, 'exportar')}; "
          "y con la tabla bloqueada, tu informe se cancela a tiempo (QueryCanceled)")
    return None


registrar(
    "12.4",
    pista="el plazo tiene que durar lo que dura la transacción del informe, no lo que dura la sesión.",
    probar=_probar_contar_personas,
    explicacion="El informe conserva su plazo y ninguna otra petición lo hereda.",
)


# --- 12.5: el tamaño de cada pool -----------------------------------------------------------

_CASOS_TAMANO = [(6, 3, 0), (6, 3, 1), (10, 4, 2), (97, 4, 2), (20, 3, 5), (8, 2, 0)]
"""``(limite, procesos, otras)`` con los que se prueba la función del alumno."""


def _probar_tamano(funcion: Any) -> str | None:
    from .. import aplicacion

    if (fallo := _es_funcion(funcion, "max_size_por_proceso", "limite, procesos, otras=0")) is not None:
        return fallo
    for limite, procesos, otras in _CASOS_TAMANO:
        valor = funcion(limite, procesos, otras)
        llamada = f"max_size_por_proceso({limite}, {procesos}, {otras})"
        if isinstance(valor, bool) or not isinstance(valor, int):
            return f"{llamada} devolvió {valor!r}: debe ser un número entero de conexiones."
        if valor * procesos + otras > limite:
            return f"{llamada} devolvió {valor}: {procesos} × {valor} + {otras} = {valor * procesos + otras} pasa de {limite}."
        if (valor + 1) * procesos + otras <= limite:
            return (
                f"{llamada} devolvió {valor}, pero cabe más: con {valor + 1}, {procesos} × {valor + 1} + {otras} = "
                f"{(valor + 1) * procesos + otras} no pasa de {limite}. Busca el mayor que quepa."
            )
    tamano = funcion(6, 3, 1)
    antes = aplicacion.ultima("despliegue") or aplicacion.desplegar(procesos=3, max_size=3, limite=6)
    despues = aplicacion.desplegar(procesos=3, max_size=tamano, limite=6, otras=1)
    if despues.saltado:
        print(despues.saltado)
        return None  # las cuentas ya se comprobaron; en este servidor no se pueden arrancar los procesos
    if despues.listos != 3:
        return f"con max_size = {tamano} y 1 sesión más del rol arrancaron {despues.listos} de 3 procesos."
    print(f"Antes: pools de {antes.max_size} y ninguna otra sesión: arrancaron {antes.listos} de {len(antes.procesos)} procesos")
    print(f"Con max_size = max_size_por_proceso(6, 3, 1) = {tamano} y 1 sesión más del rol abierta: "
          f"arrancaron {despues.listos} de 3; sesiones del rol: {sum(despues.sesiones.values())} de {despues.limite}")
    return None


registrar(
    "12.5",
    pista="todas las sesiones del rol cuentan: las de cada pool lleno y las demás. Redondea hacia abajo.",
    probar=_probar_tamano,
    explicacion="procesos × max_size + otras sesiones ≤ límite: todos los pools caben llenos.",
)


# --- 12.6: subir MAX_CON lo arregla todo? ---------------------------------------------------

registrar(
    "12.6",
    pista=(
        "repasa cada incidente: ¿recupera el pool una conexión perdida?, ¿desaparece el SET por haber más "
        "conexiones?, ¿cuántas sesiones pediría cada proceso? Escribe solo la letra, entre comillas."
    ),
    huella="2e7d2c03a9507ae265ecf5b5356885a53393a2029d241394997265a1a25aefc6",
    explicacion="Más conexiones solo retrasan o esconden los dos primeros fallos, y agravan el tercero.",
)
