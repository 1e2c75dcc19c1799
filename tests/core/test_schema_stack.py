import pytest

from schema.stack import ROOM, run_in_roomy_frame


def test_the_function_runs_with_its_arguments_and_its_result_comes_back():
    assert run_in_roomy_frame(lambda a, b=0: a + b, (2,), {"b": 3}) == 5


def test_exceptions_go_through():
    def fail():
        raise ValueError("boom")

    with pytest.raises(ValueError, match="boom"):
        run_in_roomy_frame(fail, (), {})


def test_its_frame_is_large_enough_to_start_a_chunk_of_its_own():
    # CPython's chunks are 16 KiB (2,048 slots), and a call needs room for its frame plus a
    # margin: a frame of ROOM local slots always starts a chunk of its own.
    assert run_in_roomy_frame.__code__.co_nlocals >= ROOM


def test_the_schema_executes_in_it(db, monkeypatch):
    import schema.schema as module

    calls = []

    def spy(function, args, kwargs):
        calls.append(function.__name__)
        return run_in_roomy_frame(function, args, kwargs)

    monkeypatch.setattr(module, "run_in_roomy_frame", spy)

    assert module.schema.execute_sync("{ __typename }").data == {"__typename": "Query"}
    assert calls == ["execute_sync"]
