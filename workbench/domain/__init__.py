"""The domain core: pydantic models, state machines and rules of the documents. No I/O, no imports of ours."""
