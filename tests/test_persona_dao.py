"""PersonaDAO: CRUD con parámetros, entradas malas rechazadas y la tabla intacta."""

from __future__ import annotations

import pytest

from capa_datos_persona import Conexion, ErrorDatosPersona, Persona, PersonaDAO, crear_tabla


def test_seleccionar_devuelve_las_filas_de_ejemplo(tabla: None) -> None:
    personas = PersonaDAO.seleccionar()
    assert [str(p) for p in personas] == [
        "Persona 1: Juan Pérez <jperez@mail.com>",
        "Persona 2: Karla Gómez <kgomez@mail.com>",
        "Persona 3: María Esparza <mesparza@mail.com>",
    ]
    assert repr(personas[0]) == "Persona(id_persona=1, nombre='Juan', apellido='Pérez', email='jperez@mail.com')"


def test_insertar_actualizar_eliminar(tabla: None, filas) -> None:
    nueva = Persona(nombre="Ana", apellido="Ruiz", email="aruiz@mail.com")
    assert PersonaDAO.insertar(nueva) == 1
    assert nueva.id_persona == 4
    nueva.email = "ana.ruiz@mail.com"
    assert PersonaDAO.actualizar(nueva) == 1
    assert filas()[-1] == (4, "Ana", "Ruiz", "ana.ruiz@mail.com")
    assert PersonaDAO.eliminar(nueva) == 1
    assert len(filas()) == 3


@pytest.mark.parametrize(
    "nombre",
    ["O'Brien", "Robert'); DROP TABLE persona;--", "Peña", "Íñigo", "Zoë 🙂", "x" * 50, '"comillas" y \\barras\\'],
)
def test_nombres_dificiles_se_guardan_tal_cual(tabla: None, filas, nombre: str) -> None:
    persona = Persona(nombre=nombre, apellido="Prueba", email="p@mail.com")
    PersonaDAO.insertar(persona)
    assert filas()[-1] == (persona.id_persona, nombre, "Prueba", "p@mail.com")
    assert len(filas()) == 4  # la tabla sigue ahí, con sus filas


@pytest.mark.parametrize(
    ("persona", "mensaje"),
    [
        (Persona(nombre="Ana", apellido="Ruiz"), "'email' es obligatorio"),
        (Persona(nombre=None, apellido="Ruiz", email="a@mail.com"), "'nombre' es obligatorio"),
        (Persona(nombre="   ", apellido="Ruiz", email="a@mail.com"), "'nombre' es obligatorio"),
        (Persona(nombre="Ana", apellido=7, email="a@mail.com"), "'apellido' es obligatorio"),  # type: ignore[arg-type]
        (Persona(nombre="A" * 51, apellido="Ruiz", email="a@mail.com"), "como máximo 50 caracteres y tiene 51"),
        (Persona(nombre="Ana", apellido="Ruiz", email="a" * 101), "como máximo 100"),
        (Persona(nombre="A\x00na", apellido="Ruiz", email="a@mail.com"), "carácter nulo"),
    ],
)
def test_insertar_datos_malos_se_rechaza_sin_tocar_la_tabla(tabla: None, filas, persona, mensaje) -> None:
    antes = filas()
    with pytest.raises(ErrorDatosPersona, match=mensaje):
        PersonaDAO.insertar(persona)
    assert filas() == antes
    assert persona.id_persona is None


def test_insertar_algo_que_no_es_persona() -> None:
    with pytest.raises(ErrorDatosPersona, match="Se esperaba una Persona"):
        PersonaDAO.insertar({"nombre": "Ana"})  # type: ignore[arg-type]
    with pytest.raises(ErrorDatosPersona, match="Se esperaba una Persona"):
        PersonaDAO.eliminar(None)  # type: ignore[arg-type]


@pytest.mark.parametrize("ident", [None, "1", 1.0, True])
def test_actualizar_o_eliminar_sin_id_valido(tabla: None, filas, ident) -> None:
    antes = filas()
    persona = Persona(ident, "Juan", "Pérez", "otro@mail.com")
    with pytest.raises(ErrorDatosPersona, match="id_persona"):
        PersonaDAO.actualizar(persona)
    with pytest.raises(ErrorDatosPersona, match="id_persona"):
        PersonaDAO.eliminar(persona)
    assert filas() == antes


def test_id_que_no_existe_devuelve_cero_y_avisa(tabla: None, filas, capsys: pytest.CaptureFixture[str]) -> None:
    antes = filas()
    fantasma = Persona(999, "Nadie", "Nunca", "nadie@mail.com")
    assert PersonaDAO.actualizar(fantasma) == 0
    assert PersonaDAO.eliminar(fantasma) == 0
    assert filas() == antes
    assert "No existe ninguna persona con id_persona=999" in capsys.readouterr().out


def test_una_escritura_que_falla_en_el_servidor_no_deja_rastro(
    tabla: None, filas, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Si la validación se salta, el servidor rechaza el valor y el with hace rollback."""
    antes = filas()
    monkeypatch.setattr(PersonaDAO, "_validar", classmethod(lambda cls, p, con_id: (p.nombre, p.apellido, p.email)))
    import psycopg

    with pytest.raises(psycopg.errors.StringDataRightTruncation):
        PersonaDAO.insertar(Persona(nombre="A" * 51, apellido="Ruiz", email="a@mail.com"))
    with pytest.raises(psycopg.errors.NotNullViolation):
        PersonaDAO.actualizar(Persona(1, None, "Ruiz", "a@mail.com"))
    assert filas() == antes
    assert Conexion.obtener_pool().get_stats()["pool_available"] == Conexion.obtener_pool().get_stats()["pool_size"]


def test_crear_tabla_es_idempotente_y_no_borra(tabla: None, filas) -> None:
    PersonaDAO.insertar(Persona(nombre="Ana", apellido="Ruiz", email="a@mail.com"))
    assert crear_tabla() is False
    assert len(filas()) == 4


def test_crear_tabla_desde_cero_pone_filas_de_ejemplo(directa, filas) -> None:
    directa.execute("DROP TABLE IF EXISTS persona")
    assert crear_tabla() is True
    assert [f[1] for f in filas()] == ["Juan", "Karla", "María"]
