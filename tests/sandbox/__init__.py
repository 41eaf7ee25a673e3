"""Tests of the JoggAI sandbox."""
