"""The whole service on one machine: Azurite, the ACS emulator and the function app."""
