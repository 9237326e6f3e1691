"""Las dos secciones de las operaciones: tiempo por operación y cocientes con su objetivo."""

from __future__ import annotations

from typing import Any

from _markdown import cumple, fmt_us, mediana, miles, seccion, tabla
from operaciones import Plan

OBJETIVO_PAQUETE = 1.05
OBJETIVO_POOL = 1.10
OBJETIVO_SOBRECOSTE = 0.05

FILAS_OPERACIONES = [
    ("dedicada", "Conexión dedicada: `execute` + `commit()`"),
    ("pool_crudo", "`psycopg_pool.ConnectionPool.connection()` directo"),
    ("paquete", "`Conexion.obtener_conexion()` (el curso)"),
    ("por_consulta", "Una conexión nueva por consulta (`psycopg.connect`)"),
    ("manual", "`obtener_conexion_manual()` + `commit()` + `liberar_conexion()`"),
    ("manual_detector", "Lo mismo con el detector de fugas activo"),
    ("paquete_largo", "`obtener_conexion()` en tandas largas (referencia del registrador y del tablero)"),
    ("registrador_10ms", "`obtener_conexion()` con `RegistradorOcupacion(intervalo=0.01)`"),
    ("registrador_1ms", "`obtener_conexion()` con `RegistradorOcupacion(intervalo=0.001)`"),
    ("registrador_1ms_solo_pool", "Lo mismo con `consultar_servidor=False` (sin `pg_stat_activity`)"),
    ("tablero", "`obtener_conexion()` con un `Tablero` abierto (refresco cada 0,25 s)"),
]
"""(clave de la variante, texto de la fila), en el orden de la tabla."""

MEDIDAS: list[tuple[str, str, str, str, float | None]] = [
    # (texto, a, b, tipo, objetivo); tipo: "cociente" (a ÷ b) o "sobrecoste" (a ÷ b − 1); sin objetivo: informativo
    ("Paquete / pool directo (`obtener_conexion()` ÷ `connection()`)", "paquete", "pool_crudo", "cociente",
     OBJETIVO_PAQUETE),
    ("Con pool / conexión dedicada (`obtener_conexion()` ÷ dedicada)", "paquete", "dedicada", "cociente",
     OBJETIVO_POOL),
    ("Conexión por consulta / con pool", "por_consulta", "paquete", "cociente", None),
    ("Registrador de ocupación cada 10 ms", "registrador_10ms", "paquete_largo", "sobrecoste", OBJETIVO_SOBRECOSTE),
    ("Registrador de ocupación cada 1 ms", "registrador_1ms", "paquete_largo", "sobrecoste", OBJETIVO_SOBRECOSTE),
    ("Registrador cada 1 ms sin consultar el servidor", "registrador_1ms_solo_pool", "paquete_largo", "sobrecoste",
     OBJETIVO_SOBRECOSTE),
    ("Tablero del pool (refresco cada 0,25 s)", "tablero", "paquete_largo", "sobrecoste", OBJETIVO_SOBRECOSTE),
    ("Detector de fugas (préstamos manuales)", "manual_detector", "manual", "sobrecoste", OBJETIVO_SOBRECOSTE),
]


def nombre_columna(resultado: dict[str, Any]) -> str:
    if resultado["tipo"] == "embebido":
        return "Embebido (socket Unix)"
    host, puerto = resultado["host_puerto"]
    return f"Externo ({host}:{puerto})"


def formatear_operaciones(resultados: list[dict[str, Any]], plan: Plan) -> str:
    cabecera = ["Operación (`SELECT 1` + commit)"] + [nombre_columna(r) for r in resultados]
    filas = [
        [texto] + [fmt_us(r["us"][clave]) if clave in r["us"] else "—" for r in resultados]
        for clave, texto in FILAS_OPERACIONES
        if any(clave in r["us"] for r in resultados)
    ]
    return seccion(
        "Tiempo por operación",
        f"Microsegundos por operación: mediana de {plan.rondas} rondas (mínimo–máximo entre paréntesis); "
        f"cada ronda hace {miles(plan.n_rapidas)} operaciones por variante ({miles(plan.n_conectar)} con una "
        f"conexión nueva por consulta), repartidas en {plan.bloques} tandas en las que todas las variantes se "
        f"turnan en orden aleatorio; las del registrador de ocupación, la del tablero y su referencia se turnan en "
        f"{plan.tandas_largas} tandas largas de unos {_segundos_tanda(plan)} s ({_operaciones_tanda(resultados)} "
        "operaciones cada una), porque arrancar y parar el registrador o el tablero en tandas de pocas operaciones "
        "inflaría su coste y una tanda más corta que el refresco del tablero (0,25 s) no pagaría ningún dibujo. "
        "Pool del curso: `MIN_CON=1`, `MAX_CON=5`; el pool directo usa los mismos tamaños.",
        tabla(cabecera, filas),
    )


def _segundos_tanda(plan: Plan) -> str:
    return f"{plan.segundos_tanda_larga:g}".replace(".", ",")


def _operaciones_tanda(resultados: list[dict[str, Any]]) -> str:
    """Operaciones por tanda larga (se calculan en cada servidor: pueden variar)."""
    cifras = [miles(r["n_tanda_larga"]) for r in resultados if r.get("n_tanda_larga")]
    return " y ".join(cifras) if cifras else "—"


def cociente(resultado: dict[str, Any], a: str, b: str) -> float | None:
    """Mediana de los cocientes ronda a ronda (tanda a tanda en las variantes largas).

    Comparar cada variante con la referencia medida justo a su lado resiste mejor los cambios de
    carga de la máquina.
    """
    tandas = resultado.get("us_tandas", {})
    if a in tandas and b in tandas:
        return mediana([x / y for x, y in zip(tandas[a], tandas[b])])
    us = resultado["us"]
    if a not in us or b not in us:
        return None
    return mediana([x / y for x, y in zip(us[a], us[b])])


def _texto_objetivo(tipo: str, objetivo: float | None) -> str:
    if objetivo is None:
        return "informativo"
    return f"≤ {objetivo:.2f}" if tipo == "cociente" else f"≤ {objetivo * 100:.0f} %"


def _celdas(valor: float | None, tipo: str, objetivo: float | None) -> list[str]:
    """La cifra y el «¿cumple?» de una medida en un servidor."""
    if valor is None:
        return ["no medido", "—"]
    if objetivo is None:
        return [f"{valor:.1f}×", "—"]
    if tipo == "cociente":
        return [f"{valor:.2f}", cumple(valor, objetivo)]
    return [f"{(valor - 1) * 100:+.1f} %", cumple(valor - 1, objetivo)]


def formatear_objetivos(resultados: list[dict[str, Any]]) -> str:
    cabecera = ["Medida", "Objetivo"]
    for r in resultados:
        cabecera += [nombre_columna(r), "¿cumple?"]
    filas = []
    for texto, a, b, tipo, objetivo in MEDIDAS:
        fila = [texto, _texto_objetivo(tipo, objetivo)]
        for r in resultados:
            fila += _celdas(cociente(r, a, b), tipo, objetivo)
        filas.append(fila)
    notas = []
    if any(not r["detector"] for r in resultados):
        notas.append("> Nota: esta versión del paquete no tiene el detector de fugas "
                     "(`capa_datos_persona.laboratorio.fugas`); el sobrecoste del detector no se midió.")
    if any(not r.get("tablero") for r in resultados):
        notas.append("> Nota: esta versión del paquete no tiene el tablero "
                     "(`capa_datos_persona.laboratorio.tablero`); su sobrecoste no se midió.")
    return seccion(
        "Cocientes y sobrecostes",
        "Cada cifra es la mediana de los cocientes ronda a ronda (las dos variantes se turnan dentro de la misma "
        "ronda, así un cambio de carga de la máquina afecta a ambas); por eso puede diferir un poco del cociente "
        "de las medianas de la tabla anterior. Sobrecoste = cociente − 1: el registrador y el tablero se comparan "
        "tanda a tanda con `obtener_conexion()` sin ninguno de los dos (la mediana de los cocientes de todas las "
        "tandas largas); el detector, con préstamos manuales sin detector.",
        tabla(cabecera, filas),
        *notas,
    )
