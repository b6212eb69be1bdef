"""Tests of the dev tools themselves: the ACS emulator, the local Durable engine, the local host."""
