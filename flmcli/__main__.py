from flmcli.cli import main

main()
