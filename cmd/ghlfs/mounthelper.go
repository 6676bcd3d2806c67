package main

func mountHelper(args []string) int { return 2 }
