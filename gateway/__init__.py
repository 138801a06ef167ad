"""Gateway: reads sensors on serial ports and forwards readings over MQTT, losing nothing.

Installs with ``pip install 'airquartiers[gateway]'`` (pyserial, paho-mqtt) on a Raspberry Pi.
"""
