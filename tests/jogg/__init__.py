"""Tests of the JoggAI client against the sandbox."""
