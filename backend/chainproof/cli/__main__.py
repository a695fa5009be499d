from chainproof.cli import main

main()
