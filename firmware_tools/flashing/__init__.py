"""Flashing boards with esptool: serial port discovery, firmware image checks, the flasher.

``ports``   find the USB serial adapter, with errors that say how to fix access problems
``image``   read an ESP firmware image header with esptool's own image classes (chip, checksum)
``flasher`` detect the chip, refuse a mismatched image, write with progress, verify, and
            retry at a lower baud rate when the link is poor
"""
