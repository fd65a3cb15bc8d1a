from flmcli.launch import main

main()
