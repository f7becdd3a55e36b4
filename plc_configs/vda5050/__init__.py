"""VDA 5050 2.x: message models and topics, shared by the master and the vehicle simulator."""
