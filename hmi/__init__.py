"""The supervisors' web HMI (a later issue); it reads the controller's public interfaces."""
