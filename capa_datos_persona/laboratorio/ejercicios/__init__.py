"""Los ejercicios «Ponte a prueba» de los cuadernos: comprobar una respuesta sin revelarla.

Cada ejercicio tiene tres celdas en su cuaderno:

1. **La del alumno** (código, metadato ``"ejercicio": "03.1"``): empieza con
   ``respuesta = ...``. Mientras siga valiendo ``...`` (``Ellipsis``), el
   ejercicio está sin responder.
2. **La comprobación** (código): ``comprobar("03.1", respuesta)``. Sin
   responder dice «todavía no has respondido» (y no detiene «Run All»); con una
   respuesta equivocada dice «todavía no» y da una pista; bien, «¡Correcto!».
3. **La solución** (Markdown plegado, metadato ``"solucion": "03.1"``, etiquetas
   ``solucion`` y ``remove-cell`` para que un sitio publicado no la muestre):
   el alumno decide si la abre. El bloque ```python``` de esa celda es lo que
   la prueba de CI pone en la celda del alumno para comprobar que la solución pasa.

Las comprobaciones de cada cuaderno están en ``cuaderno_NN.py``. Las respuestas
fijas (un número, una opción) se guardan como **huella** (SHA-256 de la
respuesta normalizada), no en claro: leer el código no da la respuesta.
"""

from __future__ import annotations

import hashlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

SIN_RESPONDER = ...
"""Lo que vale ``respuesta`` en un cuaderno recién abierto."""

AUN_NO = "todavía no has respondido"
"""Texto que aparece en la salida guardada de cada comprobación (así se ve que nadie respondió)."""

CORRECTO = "¡Correcto!"


@dataclass(frozen=True)
class Ejercicio:
    """Un ejercicio: su pista y cómo se comprueba (una huella o una función)."""

    ident: str
    pista: str
    huella: str | None = None
    """SHA-256 de la respuesta correcta normalizada (ver :func:`huella`)."""
    probar: Callable[[Any], str | None] | None = None
    """Recibe la respuesta; devuelve ``None`` si está bien o una pista concreta si no."""
    explicacion: str = ""
    """Lo que se muestra al acertar (por qué es así)."""


_REGISTRO: dict[str, Ejercicio] = {}


def _normalizar(valor: Any) -> str:
    if isinstance(valor, bool):
        return "verdadero" if valor else "falso"
    if isinstance(valor, (int, float)):
        return f"{valor:g}" if isinstance(valor, float) else str(valor)
    if isinstance(valor, str):
        return " ".join(valor.strip().casefold().split())
    if isinstance(valor, (list, tuple)):
        return "[" + ",".join(_normalizar(v) for v in valor) + "]"
    if isinstance(valor, (set, frozenset)):
        return "{" + ",".join(sorted(_normalizar(v) for v in valor)) + "}"
    return repr(valor)


def huella(valor: Any) -> str:
    """La huella de una respuesta: ``huella(2)``, ``huella("b")``, ``huella(True)``.

    Los textos se comparan sin mayúsculas ni espacios sobrantes; ``2`` y ``2.0``
    dan la misma huella.
    """
    if isinstance(valor, float) and valor.is_integer():
        valor = int(valor)
    return hashlib.sha256(_normalizar(valor).encode("utf-8")).hexdigest()


def registrar(
    ident: str,
    pista: str,
    *,
    huella: str | None = None,
    probar: Callable[[Any], str | None] | None = None,
    explicacion: str = "",
) -> None:
    """Da de alta un ejercicio (lo llaman los módulos ``cuaderno_NN``)."""
    if (huella is None) == (probar is None):
        raise ValueError(f"El ejercicio {ident} necesita una huella o una función probar, y solo una.")
    _REGISTRO[ident] = Ejercicio(ident, pista, huella, probar, explicacion)


def _ejercicio(ident: str) -> Ejercicio:
    if ident not in _REGISTRO:
        cuaderno = ident.split(".")[0]
        try:
            importlib.import_module(f"{__name__}.cuaderno_{cuaderno}")
        except ModuleNotFoundError:
            pass
    if ident not in _REGISTRO:
        raise KeyError(f"No existe el ejercicio {ident!r}: revisa el número en la celda de comprobación.")
    return _REGISTRO[ident]


def comprobar(ident: str, respuesta: Any) -> None:
    """Comprueba la respuesta del ejercicio ``ident`` y dice, en una línea, cómo va.

    No lanza excepciones por una respuesta equivocada o ausente: así «Run All»
    sigue hasta el final. No devuelve nada (la celda no muestra un ``Out[]``).
    """
    ejercicio = _ejercicio(ident)
    if respuesta is SIN_RESPONDER:
        print(f"Ejercicio {ident}: {AUN_NO}. Cambia el `...` de la celda de arriba y ejecuta las dos celdas.")
        return
    if ejercicio.huella is not None:
        fallo = None if huella(respuesta) == ejercicio.huella else ejercicio.pista
    else:
        assert ejercicio.probar is not None
        try:
            fallo = ejercicio.probar(respuesta)
        except Exception as exc:  # la respuesta del alumno puede fallar de cualquier forma
            fallo = f"tu respuesta lanzó {type(exc).__name__}: {exc}. {ejercicio.pista}"
    if fallo is None:
        print(f"{CORRECTO} Ejercicio {ident}." + (f" {ejercicio.explicacion}" if ejercicio.explicacion else ""))
        return
    print(f"✗ Ejercicio {ident}: todavía no. Pista: {fallo}")
